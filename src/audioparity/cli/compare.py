"""``audioparity compare REF PORT``: the first divergence and the validation table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import UsageError
from .common import console, write_json


def compare_command(
    ref: Annotated[Path, typer.Argument(help="Reference trace (.safetensors, .npz, .npy dir, "
                                             ".pt, .gguf).")],
    port: Annotated[Path, typer.Argument(help="The port's trace, any supported format.")],
    map_file: Annotated[Path | None, typer.Option("--map", help="YAML/TOML rules mapping "
                                                     "port names to reference names.")] = None,
    rtol: Annotated[float | None, typer.Option(help="Relative tolerance (of max|ref|) "
                                                  "for every pair.")] = None,
    atol: Annotated[float | None, typer.Option(help="Absolute tolerance.")] = None,
    depth: Annotated[int | None, typer.Option(help="One row per component at this depth; "
                                                 "0 = every pair; default: automatic.")] = None,
    explain: Annotated[str, typer.Option(help="Explain the 'first' divergence, 'all' failing "
                                         "pairs, or 'none'.")] = "first",
    no_order: Annotated[bool, typer.Option("--no-order", help="Do not align unmatched names "
                                           "by execution order and shape.")] = False,
    strict_layout: Annotated[bool, typer.Option(
        "--strict-layout", help="Compare tensors as stored: infer no port convention "
        "(channels-last, missing batch axis, split heads); shapes must be equal.")] = False,
    suggest_map: Annotated[Path | None, typer.Option(
        "--suggest-map", help="Write the pairing found as an editable map file (YAML).")] = None,
    json_out: Annotated[str | None, typer.Option("--json", help="Write the JSON result "
                                                    "here ('-' = stdout).")] = None,
    html_out: Annotated[Path | None, typer.Option("--html", help="Write an HTML report "
                                                     "here.")] = None,
    replay: Annotated[bool, typer.Option(
        "--replay", help="Generation traces: the port took the reference's recorded random "
        "draws, so sampled tokens must agree (exit 2 when the reference recorded "
        "none).")] = False,
    history: Annotated[Path | None, typer.Option(
        "--history", help="Append this compare's summary to a SQLite history database "
        "(audioparity history DB shows how the first divergence moved).")] = None,
    label: Annotated[str | None, typer.Option(
        "--label", help="The port revision recorded with --history (e.g. a git commit).")
                     ] = None,
) -> None:
    """Compare a port's trace with the reference's; report the first divergent layer.

    Exit 0: every aligned pair within tolerance and the port reaches the reference's outputs.
    1: a divergence was found, or the port's trace is incomplete. 2: bad input.
    Generation traces (``@k/gen.token``) add a per-step generation section.
    """
    if explain not in ("first", "all", "none"):
        raise UsageError(f"--explain must be first, all or none (got {explain!r})")
    if depth is not None and depth < 0:
        raise UsageError("--depth must be >= 0")
    if history is not None:
        from ..history import check_history

        check_history(history)  # before the compare, not after it
    elif label is not None:
        raise UsageError("--label names the revision recorded with --history: give both")
    from ..compare import compare_traces  # numpy and the engine: not for --help

    result = compare_traces(ref, port, map_file, rtol=rtol, atol=atol, explain=explain,
                            by_order=not no_order, progress=True, strict_layout=strict_layout,
                            replay=replay)
    if json_out != "-":
        if result.entries:
            from ..report.table import print_report

            print_report(result, console, -1 if depth is None else (depth or None))
        if result.generation is not None:
            from ..generation.terminal import print_generation

            print_generation(result.generation, console)
    doc = result.to_json() if json_out is not None or history is not None else None
    write_json(json_out, doc)  # no --json: nothing written
    if history is not None:
        from ..history import append_run, run_from_compare

        append_run(history, run_from_compare(doc, label))
    if html_out is not None:
        from ..report.html import write_html

        write_html(html_out, result)
    if suggest_map is not None:
        from ..compare.suggest import write_suggested_map

        write_suggested_map(suggest_map, result)
    raise typer.Exit(0 if result.status == "parity" else 1)


def register(app: typer.Typer) -> None:
    app.command("compare")(compare_command)
