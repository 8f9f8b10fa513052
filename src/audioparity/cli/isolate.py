"""``audioparity isolate REF --port MODULE:NAME``: each component on the reference's own
inputs, beside the end-to-end result; ``audioparity isolate export`` writes a component's
inputs for a port in another language."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from ..errors import UsageError
from ..report.table import print_isolation
from .common import console, write_json


class _RunByDefault(TyperGroup):
    """``isolate REF …`` runs the table; ``isolate export …`` is the subcommand."""

    def parse_args(self, ctx, args):  # type: ignore[no-untyped-def]
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(cls=_RunByDefault, no_args_is_help=True,
                  help="Run each component of a port on the reference's own recorded inputs "
                       "(the isolated table beside the end-to-end one), patch one, or export "
                       "a component's inputs for a port in another language. "
                       "'audioparity isolate REF --port MODULE:NAME' is short for "
                       "'audioparity isolate run REF --port MODULE:NAME'.")


@app.command("run")
def run_command(
    ref: Annotated[Path, typer.Argument(help="Reference trace captured with inputs "
                                             "(capture(model, path, inputs=True)).")],
    port: Annotated[str | None, typer.Option(
        "--port", help="MODULE:NAME or FILE.py:NAME: a torch/MLX module, a CallablePort, a "
        "mapping of component -> module/ONNX session/callable, or a function returning "
        "one.")] = None,
    outputs: Annotated[list[Path] | None, typer.Option(
        "--outputs", help="A file of component outputs a port in another language saved "
        "(NAME, NAME:out1 …), instead of --port; repeatable.")] = None,
    component: Annotated[list[str] | None, typer.Option(
        "--component", "-c", help="A reference module to check (repeatable; default: the "
        "root's direct children recorded with inputs).")] = None,
    port_trace: Annotated[Path | None, typer.Option(
        "--port-trace", help="The port's own trace, for the end-to-end column (default: run "
        "the port end to end when it can be).")] = None,
    patch: Annotated[str | None, typer.Option(
        "--patch", help="Also run the port with this component's output replaced by the "
        "reference's: does everything downstream recover?")] = None,
    narrow: Annotated[bool, typer.Option(
        "--narrow/--no-narrow", help="Narrow a component wrong in isolation to its innermost "
        "submodule wrong in isolation.")] = True,
    explain: Annotated[bool, typer.Option(
        "--explain/--no-explain", help="Run the cause catalogue on what is wrong in "
        "isolation.")] = True,
    rtol: Annotated[float | None, typer.Option(help="Relative tolerance (of max|ref|).")] = None,
    atol: Annotated[float | None, typer.Option(help="Absolute tolerance.")] = None,
    json_out: Annotated[str | None, typer.Option("--json", help="Write the JSON result "
                                                    "here ('-' = stdout).")] = None,
) -> None:
    """Isolated per-component table: exit 0 when every component is right (alone and end
    to end), 1 when one is wrong or could not be checked, 2 on bad input."""
    from ..isolate import file_port, isolate
    from ..isolate.loading import load_port

    if (port is None) == (not outputs):
        raise UsageError("give the port to run (--port MODULE:NAME) or the outputs it saved "
                         "(--outputs FILE), one of the two")
    driver = load_port(port) if port is not None else file_port(list(outputs or []))
    result = isolate(ref, driver, component or None, port_trace=port_trace, explain=explain,
                     rtol=rtol, atol=atol, patch=patch, narrow=narrow, progress=True)
    if json_out != "-":
        print_isolation(result, console)
    write_json(json_out, result.to_json())
    raise typer.Exit(0 if result.status == "parity" else 1)


@app.command("export")
def export_command(
    ref: Annotated[Path, typer.Argument(help="Reference trace captured with inputs.")],
    component: Annotated[list[str], typer.Option(
        "--component", "-c", help="A reference module whose inputs to write (repeatable).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The .safetensors file to "
                                                          "write.")],
) -> None:
    """Write the recorded inputs of components (NAME:in0 …) to a safetensors file for a port
    in another language; its metadata lists the outputs to write back."""
    from ..isolate import export_inputs

    described = export_inputs(ref, component, out)
    for name, io in described.items():
        ins = ", ".join(f"{n} {shape}" for n, shape in io["inputs"].items())
        outs = ", ".join(f"{n} {shape}" for n, shape in io["outputs"].items())
        console.print(f"{name}: inputs {ins}; write back {outs}", markup=False)
    console.print(f"-> {out}", markup=False)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="isolate")
