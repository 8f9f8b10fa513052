"""``audioparity explain REF PORT``: run the cause catalogue on one tensor pair."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.markup import escape
from rich.table import Table

from ..contract import exit_code
from ..errors import InputError, UsageError
from ..explain import CAUSES, ExplainContext, explain_pair
from ..trace import Trace, open_trace
from .common import console, write_json


def _pick(trace: Trace, name: str | None, path: Path) -> str:
    if name is not None:
        if name not in trace:
            raise InputError(path, f"no tensor named {name!r} (has {len(trace)})")
        return name
    if len(trace) != 1:
        shown = ", ".join(trace.names[:4]) + (", …" if len(trace) > 4 else "")
        raise InputError(path, f"holds {len(trace)} tensors ({shown}): pick one with "
                               "--ref-name/--port-name")
    return trace.names[0]


def _getter(trace: Trace):
    def get(name: str) -> np.ndarray | None:
        return trace.read(name) if name in trace else None

    return get


def _kinds(kind: list[str] | None) -> list[str] | None:
    if not kind:
        return None
    kinds = [k.strip() for item in kind for k in item.split(",") if k.strip()]
    bad = [k for k in kinds if k not in CAUSES]
    if bad:
        raise UsageError(f"unknown --kind {', '.join(bad)} (choose from {', '.join(CAUSES)})")
    return kinds


def explain(
    ref: Annotated[Path, typer.Argument(help="Reference tensor: .npy, .pt, a one-tensor "
                                             ".safetensors, or a trace with --ref-name.")],
    port: Annotated[Path, typer.Argument(help="Port tensor, same forms.")],
    kind: Annotated[list[str] | None, typer.Option("--kind", help="Only these causes "
                                                   "(repeat or comma-separate).")] = None,
    ref_name: Annotated[str | None, typer.Option("--ref-name", help="Tensor to take from a "
                                                 "multi-tensor REF trace (its recorded "
                                                 "inputs NAME:in0… are used).")] = None,
    port_name: Annotated[str | None, typer.Option("--port-name", help="Tensor in PORT "
                                                  "(default: --ref-name).")] = None,
    top: Annotated[int | None, typer.Option("--top", min=1, help="Show at most N causes.")
                   ] = None,
    json_path: Annotated[str | None, typer.Option("--json", help="Write the result as JSON "
                                                  "(- for stdout).")] = None,
) -> None:
    """Say why PORT differs from REF: ranked causes with evidence and a fix hint.

    Exit 0: parity, or reduced-precision noise only; 1: a cause found; 2: unreadable input.
    """
    kinds = _kinds(kind)
    with open_trace(ref) as ref_trace, open_trace(port) as port_trace:
        r_name = _pick(ref_trace, ref_name, ref)
        p_name = _pick(port_trace, port_name or (ref_name if ref_name in port_trace else None),
                       port)
        r_info, p_info = ref_trace.info(r_name), port_trace.info(p_name)
        from ..compare.complex_metrics import is_complex  # not at import: start-up time

        ctx = ExplainContext(name=r_name if ref_name else "", ref_dtype=r_info.dtype,
                             port_dtype=p_info.dtype, get_ref=_getter(ref_trace),
                             get_port=_getter(port_trace),
                             complex_pair=is_complex(ref_trace, r_name)
                             or is_complex(port_trace, p_name))
        findings = explain_pair(ref_trace.read(r_name), port_trace.read(p_name), ctx,
                                kinds=kinds, top=top)
    real = [f for f in findings if f.cause != "precision"]
    precision_only = bool(findings) and not real
    status = "divergent" if real else "parity"
    write_json(json_path, {"status": status, "precision_only": precision_only,
                           "ref": str(ref), "port": str(port),
                           "ref_name": r_name, "port_name": p_name,
                           "ref_shape": list(r_info.shape), "port_shape": list(p_info.shape),
                           "ref_dtype": r_info.dtype, "port_dtype": p_info.dtype,
                           "causes": [f.to_json() for f in findings]})
    if json_path != "-":
        _print(findings, r_info.shape, p_info.shape, precision_only)
    raise typer.Exit(exit_code(status))


def _print(findings, ref_shape, port_shape, precision_only: bool) -> None:
    shapes = f"ref {list(ref_shape)} vs port {list(port_shape)}"
    if not findings:
        console.print(f"[green]parity[/green]: {escape(shapes)} agree within f32 noise")
        return
    table = Table(title=escape(f"explain: {shapes}"))
    for column in ("#", "cause", "conf", "detail"):
        table.add_column(column, justify="right" if column in ("#", "conf") else "left")
    for i, f in enumerate(findings, 1):
        style = "yellow" if f.cause == "precision" else "red"
        table.add_row(str(i), f"[{style}]{f.cause}[/{style}]", f"{f.confidence:.2f}",
                      escape(f.detail))
    console.print(table)
    console.print(f"[bold]fix[/bold] ({findings[0].cause}): {escape(findings[0].hint)}")
    if precision_only:
        console.print("[yellow]only reduced-precision noise: not a bug by itself[/yellow]")


def register(app: typer.Typer) -> None:
    app.command("explain")(explain)
