"""``audioparity tokens check``: are a port's codec / generated tokens sane, and do they
match the reference's?"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..contract import exit_code
from ..errors import InputError, UsageError
from .common import console, progress_bar, write_json

_LAYOUT_HELP = "Axis order: T, QT, TQ, BT, BQT or BTQ (B sequences, Q codebooks, T frames)."


def _human(json_path: str | None) -> Console:
    """Where the human-readable report goes: stdout, or nowhere when JSON goes to stdout."""
    return Console(quiet=True) if json_path == "-" else console


def _load(path: Path, name: str | None, layout: str | None, codebooks: int | None,
          prefer_codebooks: int | None = None):
    from ..tokens import as_tokens, read_tokens

    read = read_tokens(path, name)
    try:
        tokens = as_tokens(read.array, layout, codebooks, prefer_codebooks=prefer_codebooks)
    except ValueError as exc:
        raise InputError(path, str(exc)) from None
    return tokens, read.notes


def check(
    tokens: Annotated[Path, typer.Argument(help="Token ids: .npy, .npz, .pt, .safetensors, "
                                                ".txt or .json.")],
    codebook_size: Annotated[int, typer.Option("--codebook-size", min=1, help="Ids per "
                                               "codebook (a text LM: its vocabulary size).")],
    ref: Annotated[Path | None, typer.Option("--ref", help="The reference's ids for the "
                                             "same input (e.g. PyTorch greedy generation).")
                   ] = None,
    eos: Annotated[int | None, typer.Option("--eos", help="EOS id (looked for in codebook 0)."
                                            )] = None,
    pad: Annotated[int | None, typer.Option("--pad", help="Padding id allowed after EOS.")
                   ] = None,
    layout: Annotated[str | None, typer.Option("--layout", help=_LAYOUT_HELP)] = None,
    codebooks: Annotated[int | None, typer.Option("--codebooks", min=1, help="Codebooks in "
                                                  "the file (picks the codebook axis).")
                         ] = None,
    codebooks_expected: Annotated[int | None, typer.Option(
        "--codebooks-expected", min=1, help="Codebooks the codec reads.")] = None,
    logits: Annotated[tuple[Path, Path] | None, typer.Option(
        "--logits", help="REF PORT logits (.npy, [T, V] or [B, T, V]): step-by-step "
                         "agreement.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Tensor (or JSON key) to take "
                                             "from a multi-tensor file.")] = None,
    ref_name: Annotated[str | None, typer.Option("--ref-name", help="Tensor to take from "
                                                 "REF (default: --name).")] = None,
    json_path: Annotated[str | None, typer.Option("--json", help="Write the result as JSON "
                                                  "(- for stdout).")] = None,
) -> None:
    """Check codec or generated tokens: range per codebook, offsets, codebook count,
    degeneracy (constant, collapsed, looping), EOS and stop reason; with --ref the first
    mismatching (frame, codebook) and its cause; with --logits the first flipped argmax.

    Exit 0 when the tokens look sane (and match the reference), 1 when a problem is found,
    2 when they cannot be checked.
    """
    from ..tokens import check_tokens, read_logits

    con = _human(json_path)
    if layout is not None and codebooks is not None:
        raise UsageError("give --layout or --codebooks, not both")
    with progress_bar() as bar:
        task = bar.add_task("tokens check", total=4)
        port, notes = _load(tokens, name, layout, codebooks)
        bar.advance(task)
        ref_tokens = None
        if ref is not None:
            ref_tokens, ref_notes = _load(ref, ref_name or name, layout, None,
                                          prefer_codebooks=port.codebooks)
            notes += [f"ref: {n}" for n in ref_notes]
        bar.advance(task)
        pair = None
        if logits is not None:
            pair = (read_logits(logits[0]), read_logits(logits[1]))
        bar.advance(task)
        try:
            result = check_tokens(port, codebook_size, codebooks_expected=codebooks_expected,
                                  eos=eos, pad=pad, ref=ref_tokens, logits=pair)
        except ValueError as exc:
            raise InputError(logits[1] if logits else tokens, str(exc)) from None
        bar.advance(task)
    result.notes += notes
    _print(con, tokens, result)
    payload = {"file": str(tokens), "ref_file": None if ref is None else str(ref),
               **result.to_json()}
    write_json(json_path, payload)
    raise typer.Exit(exit_code(payload["status"]))


def _print(con: Console, path: Path, result) -> None:
    t = result.tokens
    con.print(f"{escape(path.name)}: shape {list(t.input_shape)} read as {t.layout} → "
              f"{t.batch} sequence(s) × {t.codebooks} codebook(s) × {t.frames} frames "
              f"({escape(t.reason)})")
    table = Table(title=f"tokens check: codebook size {result.codebook_size}")
    for column in ("cb", "min", "max", "<0", f"≥{result.codebook_size}", "unique", "entropy",
                   "top share", "longest run", "repeat", "flags"):
        table.add_column(column, justify="left" if column in ("repeat", "flags") else "right")
    for s in result.codebooks:
        repeat = "—" if s.repeat is None else \
            f"p{s.repeat.period} × {s.repeat.length} @ {s.repeat.start}"
        flags = ", ".join(s.flags) or "ok"
        style = "green" if not s.flags else "red"
        table.add_row(str(s.index), str(s.min), str(s.max), str(s.negative), str(s.over),
                      str(s.unique), f"{s.entropy:.2f}", f"{s.top_share:.1%}",
                      str(s.longest_run), repeat, f"[{style}]{flags}[/{style}]")
    con.print(table)
    for stop in result.stops or []:
        where = "no EOS" if stop.eos_frame is None else f"EOS at frame {stop.eos_frame}"
        con.print(f"sequence {stop.index}: {where}, stop reason {stop.stop_reason}"
                  + (f", {stop.after_eos} ids after EOS" if stop.after_eos else ""))
    if result.ref is not None:
        r = result.ref
        agree = ", ".join(f"{a:.1%}" for a in r.agreement[:16]) or "— (no common frame)"
        con.print(f"vs reference: compared {r.compared[0]} × {r.compared[1]} × "
                  f"{r.compared[2]}, agreement per codebook {agree}, length difference "
                  f"{r.length_difference}")
    if result.logits is not None:
        lg = result.logits
        con.print(f"logits: {lg.steps} steps, top-1 agreement {lg.top1_agreement:.1%}, "
                  f"KL mean {lg.kl_mean:.3g} / max {lg.kl_max:.3g} nats, max |Δ| "
                  f"{lg.max_abs:.3g}")
    for note in result.notes:
        con.print(f"  - {escape(note)}")
    for p in result.problems:
        cause = f" ({p.cause})" if p.cause else ""
        con.print(f"[red]{p.check}[/red]{cause}: {escape(p.detail)}")
        if p.hint:
            con.print(f"    hint: {escape(p.hint)}")
    if result.ok:
        con.print("[green]ok[/green]: ids in range, no offset, not degenerate"
                  + (", stopped at EOS" if result.stops else "")
                  + (", matches the reference" if result.ref else "")
                  + (", logits agree" if result.logits else ""))
    else:
        con.print(f"[red]{len(result.problems)} problem(s)[/red]")


def register(app: typer.Typer) -> None:
    """Add the ``tokens`` command group to the CLI."""
    group = typer.Typer(help="Tokens: codec ids and generations, alone or vs the reference.",
                        no_args_is_help=True)
    group.command("check")(check)
    app.add_typer(group, name="tokens")
