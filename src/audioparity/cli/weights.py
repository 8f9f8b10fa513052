"""``audioparity weights audit | fix | quant`` — thin layer over :mod:`audioparity.weights`."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import UsageError
from .common import console, progress_bar, write_json

group = typer.Typer(help="Audit a converted checkpoint against its reference, fix it, and "
                         "measure quantization damage per tensor and per layer.",
                    no_args_is_help=True)

_STATUS_STYLE = {"ok": "green", "mismatch": "red", "init": "red", "shape_mismatch": "red",
                 "nonfinite": "red", "missing": "yellow", "unexpected": "yellow"}


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="weights")


def _fmt(x: float | None, spec: str = ".2e") -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return format(x, spec)


def _audit(ref_path: Path, port_path: Path, map_rules: str | None,
           config_path: Path | None = None):
    from ..weights import audit_checkpoints, open_checkpoint
    from ..weights.gguf_metadata import find_config, load_config
    from ..weights.keymap import load_rules

    rules = load_rules(map_rules)
    config_path = config_path or find_config(ref_path)
    config = load_config(config_path) if config_path is not None else None
    ref = open_checkpoint(ref_path)
    port = open_checkpoint(port_path)
    with progress_bar() as bar:
        task = bar.add_task("audit", total=len(ref))
        report = audit_checkpoints(ref, port, rules, progress=lambda: bar.advance(task),
                                   config=config,
                                   config_path=None if config_path is None else str(config_path))
    return ref, port, report


def _print_audit(report, show_all: bool) -> None:
    counts = report.to_json()["counts"]
    console.print(f"[bold]weights audit[/bold] {report.ref_path} vs {report.port_path}: "
                  + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
    table = Table(title="by component")
    for col in ("component", "tensors", "ok", "renamed", "relayout", "mismatch", "init",
                "missing", "unexpected", "worst rel err"):
        table.add_column(col, justify="left" if col == "component" else "right")
    for comp, c in report.by_component().items():
        table.add_row(comp, *(str(c.get(k, 0)) for k in (
            "tensors", "ok", "renamed", "relayout", "mismatch", "init", "missing",
            "unexpected")), _fmt(report.worst_rel(comp)))
    console.print(table)
    rows = [e for e in report.entries if show_all or e.status != "ok"
            or "breaks" in (e.layout_note or "") or e.how not in ("exact", "prefix", "map")]
    limit = None if show_all else 40
    if rows:
        console.print("tensors:" if show_all else "tensors worth a look (--all for every one):")
    for e in rows[:limit]:
        ref = ", ".join(e.ref) or "(none)"
        port = ", ".join(e.port) or "(none)"
        facts = [e.how] + ([e.layout] if e.layout else []) + (
            [e.layout_note] if e.layout_note else [])
        if e.rel_l2 is not None:
            facts.append(f"rel err {_fmt(e.rel_l2)}")
        status, style = e.status, _STATUS_STYLE[e.status]
        if status == "ok" and "breaks" in (e.layout_note or ""):
            status, style = "layout", "red"
        line = (f"  [{style}]{status:<10}[/] {escape(ref)} <- "
                f"{escape(port)}: {escape('; '.join(facts))}")
        if e.detail and e.how not in ("prefix",):
            line += f" — {escape(e.detail)}"
        console.print(line)
    if limit is not None and len(rows) > limit:
        console.print(f"  ... {len(rows) - limit} more (--all or --json)")
    for note in report.notes:
        console.print(f"note: {escape(note)}")
    for problem in report.problems:
        console.print(f"[red]problem:[/red] {escape(problem)}")
    if not report.problems:
        console.print("[green]no problems found[/green]")


RefArg = Annotated[Path, typer.Argument(
    help="Reference checkpoint (safetensors, .pt/.bin, .npz, .gguf, *.index.json or a model "
         "directory).")]
PortArg = Annotated[Path, typer.Argument(help="The converted checkpoint (never modified).")]
MapOpt = Annotated[str | None, typer.Option(
    "--map", help="Rename rules file ('PORT_REGEX -> REF_REPL' lines) or 'llama.cpp'.")]
JsonOpt = Annotated[str | None, typer.Option(
    "--json", help="Write the JSON result here ('-' = stdout).")]
ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", help="The reference's Hugging Face config.json (default: the one beside REF): "
                     "a GGUF port's numerics-changing metadata is checked against it.")]


@group.command("audit")
def audit_cmd(
    ref: RefArg,
    port: PortArg,
    map_rules: MapOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = None,
    show_all: Annotated[bool, typer.Option("--all", help="List every tensor.")] = False,
) -> None:
    """For every reference tensor: its port counterpart, layout, error and init state; for
    a GGUF port also Q/K row order and the metadata that changes numerics."""
    ref_ck, port_ck, report = _audit(ref, port, map_rules, config)
    ref_ck.close()
    port_ck.close()
    if json_out != "-":
        _print_audit(report, show_all)
    write_json(json_out, report.to_json())
    raise typer.Exit(1 if report.problems else 0)


@group.command("fix")
def fix_cmd(
    ref: RefArg,
    port: PortArg,
    out: Annotated[Path, typer.Option("--out", help="Corrected copy to write (.safetensors).")],
    layout: Annotated[str, typer.Option(
        help="'ref': undo every layout change; 'port': make conv and 2-D (linear) layouts "
             "consistent with the port's majority convention.")] = "ref",
    weight_norm: Annotated[str, typer.Option(
        help="ref | fused | weight_g | parametrizations")] = "ref",
    map_rules: MapOpt = None,
    config: ConfigOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing --out.")] = False,
    log: Annotated[Path | None, typer.Option(
        "--log", help="Change log (JSON); default OUT.fixlog.json.")] = None,
    json_out: JsonOpt = None,
) -> None:
    """Write a corrected copy of PORT: names, layouts and weight norm as asked
    (.safetensors), or, for a GGUF port, GGUF metadata and Q/K row order (.gguf)."""
    from ..errors import InputError
    from ..weights.fix import fix_checkpoint, fix_gguf

    if out.suffix.lower() not in (".safetensors", ".gguf"):
        raise UsageError(f"--out {out}: fix writes .safetensors (or, for a GGUF port, .gguf) "
                         "files")
    if out.exists() and not force:
        raise InputError(out, "exists; pass --force to overwrite it")
    ref_ck, port_ck, report = _audit(ref, port, map_rules, config)
    if out.suffix.lower() == ".gguf":
        result = fix_gguf(ref_ck, port_ck, report, out, force)
    else:
        with progress_bar() as bar:
            task = bar.add_task("fix", total=len(report.entries))
            result = fix_checkpoint(ref_ck, port_ck, report, out, layout, weight_norm, force,
                                    progress=lambda: bar.advance(task))
    ref_ck.close()
    port_ck.close()
    log_path = log or out.with_name(out.name + ".fixlog.json")
    write_json(log_path, result.to_json())
    summary = result.to_json()
    if json_out != "-":
        console.print(f"wrote {out}: {summary['written']} tensors, {summary['changed']} "
                      f"changed; log {log_path}")
        for item in result.not_fixed[:20]:
            console.print(f"[yellow]not fixed:[/yellow] "
                          f"{escape(', '.join(item.get('ref') or []))}: {escape(item['reason'])}")
    write_json(json_out, summary)
    raise typer.Exit(1 if result.not_fixed else 0)


@group.command("quant")
def quant_cmd(
    ckpt: Annotated[Path | None, typer.Argument(
        help="Checkpoint to round-trip (per-tensor table), or a GGUF file to measure against "
             "--ref.")] = None,
    qtype: Annotated[str, typer.Option(
        "--type", help="GGUF type gguf can quantize: F16, BF16, Q8_0, Q5_0, Q5_1, Q4_0, "
                       "Q4_1.")] = "Q8_0",
    ref: Annotated[Path | None, typer.Option(
        "--ref", help="Float reference: measure the quantization stored in CKPT (K-quants "
                      "included).")] = None,
    map_rules: MapOpt = None,
    min_sqnr: Annotated[float, typer.Option(help="Flag tensors below this SQNR (dB).")] = 30.0,
    model: Annotated[str | None, typer.Option(
        "--model", help="Per-layer end-to-end study on module:function -> (nn.Module, "
                        "inputs).")] = None,
    unit: Annotated[str, typer.Option(
        help="Study unit: tensor | module | component.")] = "tensor",
    target_snr: Annotated[float, typer.Option(
        help="Output SNR (dB) the keep list must reach.")] = 40.0,
    workers: Annotated[int, typer.Option(
        help="Local worker processes for the study (<=1: inline).")] = 2,
    ray: Annotated[str | None, typer.Option(
        "--ray", help="Run study jobs on Ray at ADDRESS ('local' starts one).")] = None,
    top: Annotated[int, typer.Option(help="Rows to print.")] = 20,
    json_out: JsonOpt = None,
) -> None:
    """Quantization error per tensor (CKPT) or per layer end to end (--model)."""
    if (ckpt is None) == (model is None):
        raise UsageError("give either CKPT (per-tensor table) or --model (per-layer study)")
    if model is not None:
        _study(model, qtype, unit, target_snr, workers, ray, top, json_out)
    _per_tensor(ckpt, qtype, ref, map_rules, min_sqnr, top, json_out)


def _per_tensor(ckpt: Path, qtype: str, ref: Path | None, map_rules: str | None,
                min_sqnr: float, top: int, json_out: str | None) -> None:
    from ..weights import open_checkpoint
    from ..weights.gguf_metadata import find_config, head_dim_of, load_config, read_gguf_metadata
    from ..weights.keymap import default_rules, load_rules, match_keys
    from ..weights.quant import QUANTIZABLE, quant_table, stored_quant_table
    from ..weights.rope_rows import expected_order

    ck = open_checkpoint(ckpt)
    with progress_bar() as bar:
        task = bar.add_task("quant", total=len(ck))
        if ref is not None:
            ref_ck = open_checkpoint(ref)
            rules = load_rules(map_rules) if map_rules else default_rules(ck.names)
            matching = match_keys(ref_ck.infos(), ck.infos(), ref_ck.read, ck.read, rules)
            meta = read_gguf_metadata(ck.path) if ck.format == "gguf" else {}
            config_path = find_config(ref)
            config = load_config(config_path) if config_path is not None else None
            rows = stored_quant_table(ck, ref_ck, matching, min_sqnr,
                                      progress=lambda: bar.advance(task),
                                      head_dim=head_dim_of(config, meta),
                                      row_order=expected_order(
                                          meta.get("general.architecture")))
            mode = f"stored quantization of {ckpt} against {ref}"
            if not rows:
                raise UsageError(f"{ckpt}: no quantized tensor has a counterpart in {ref}")
        else:
            if qtype not in QUANTIZABLE:
                raise UsageError(f"--type {qtype}: gguf can quantize {', '.join(QUANTIZABLE)}; "
                                 "for K-quants pass a GGUF file and its float --ref")
            rows = quant_table(ck, qtype, min_sqnr, progress=lambda: bar.advance(task))
            mode = f"{qtype} round trip of {ckpt}"
    damaged = [r for r in rows if r.damaged]
    nonfinite = [r for r in rows if r.nonfinite]
    if json_out != "-":
        table = Table(title=f"{mode} (worst first)")
        for col in ("tensor", "shape", "type", "SQNR dB", "rel err", "flags", "note"):
            table.add_column(col)
        for r in rows[:top]:
            sq = f"[red]{_fmt(r.sqnr_db, '.1f')}[/]" if r.damaged else _fmt(r.sqnr_db, ".1f")
            table.add_row(r.name, str(list(r.shape)), r.qtype, sq, _fmt(r.rel_l2),
                          ", ".join(r.flags), r.note)
        console.print(table)
        console.print(f"{len(damaged)} of {len(rows) - len(nonfinite)} tensors below "
                      f"{min_sqnr:g} dB SQNR")
        if nonfinite:
            names = ", ".join(r.name for r in nonfinite[:5]) + (" ..." if len(nonfinite) > 5
                                                                 else "")
            console.print(f"[red]problem[/red]: {len(nonfinite)} tensors hold NaN/Inf "
                          f"weights ({sum(r.nonfinite for r in nonfinite)} values), not "
                          f"quantized: {names} — the checkpoint is broken before any "
                          "quantization")
    write_json(json_out, {"status": "problem" if damaged or nonfinite else "ok",
                          "mode": "stored" if ref is not None else "roundtrip", "qtype": qtype,
                          "min_sqnr_db": min_sqnr, "damaged": len(damaged),
                          "nonfinite": len(nonfinite),
                          "tensors": [r.__dict__ for r in rows]})
    raise typer.Exit(1 if damaged or nonfinite else 0)


def _study(model: str, qtype: str, unit: str, target: float, workers: int, ray: str | None,
           top: int, json_out: str | None) -> None:
    from ..weights.sensitivity import layer_sensitivity

    try:
        report = layer_sensitivity(model, qtype, unit, target, workers, ray)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if json_out != "-":
        table = Table(title=f"{qtype} one {unit} at a time: output SNR of {model} "
                            f"({report.runner})")
        for col in ("rank", unit, "type", "params", "output SNR dB", "audio"):
            table.add_column(col)
        for u in report.units[:top]:
            audio = ("LSD {:.2f} dB, MR-STFT {:.3f}".format(
                u.audio["log_spectral_distance_db"], u.audio["mr_stft_distance"])
                if u.audio and "mr_stft_distance" in u.audio else "-")
            table.add_row(str(u.rank), u.unit, u.kind, str(u.params), _fmt(u.snr_db, ".1f"),
                          audio)
        console.print(table)
        for kind, s in report.by_kind().items():
            console.print(f"{kind}: {s['units']} units, median output SNR "
                          f"{s['median_snr_db']:.1f} dB, worst {s['min_snr_db']:.1f} dB")
        console.print(f"everything {qtype}: output SNR {report.all_quantized_snr_db:.1f} dB "
                      f"(target {target:g} dB)")
        if report.keep:
            state = "reaches" if report.reached else "does NOT reach"
            console.print(f"keep in F16/F32 (greedy, most damaging first; {len(report.keep)} "
                          f"{unit}s, {report.kept_params}/{report.total_params} params): "
                          f"{', '.join(report.keep)} -> {report.keep_snr_db:.1f} dB, {state} "
                          "the target")
    write_json(json_out, report.to_json())
    raise typer.Exit(0 if report.all_quantized_snr_db >= target else 1)
