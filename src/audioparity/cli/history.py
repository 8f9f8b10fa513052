"""``audioparity history DB``: how the first divergence moved across port revisions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..contract import checked, exit_code
from ..errors import InputError
from ..history import Move, Run, moves, read_runs, regressed
from .common import console, write_json

STRIP_WIDTH = 16
"""Characters of the position strip: the aligned pairs in execution order, squeezed."""


def _strip(run: Run) -> str:
    """The aligned pairs as a line: ``━`` within tolerance, ``●`` the first divergence."""
    if run.first_index is None or run.pairs <= 0:
        return "━" * STRIP_WIDTH
    at = min(STRIP_WIDTH - 1, run.first_index * STRIP_WIDTH // run.pairs)
    return "━" * at + "●" + "·" * (STRIP_WIDTH - at - 1)


def _position(run: Run) -> str:
    if run.first_index is None:
        return f"all {run.pairs}"
    return f"{run.first_index + 1}/{run.pairs}"


def _move(move: Move) -> str:
    style = {"later": "green", "earlier": "red"}.get(move.direction, "")
    by = "" if not move.by else f" {move.by:+d}"
    text = f"{move.arrow} {move.direction}{by}"
    return f"[{style}]{text}[/{style}]" if style else text


def _cause(run: Run) -> str:
    if run.first_cause is None:
        return ""
    confidence = "" if run.first_confidence is None else f" {run.first_confidence:.2f}"
    return escape(run.first_cause + confidence)


def _port(run: Run, named: bool) -> str:
    """The port file's hash prefix (a new revision, a new hash), its name too when the
    runs shown read more than one port path."""
    digest = (run.port.sha256_1mib or "?")[:7]
    return escape(f"{Path(run.port.path).name} {digest}") if named else digest


def _print(con: Console, database: Path, runs: list[Run], steps: list[Move], status: str,
           shown: slice) -> None:
    paths = sorted({r.port.path for r in runs[shown]})
    named = len(paths) > 1
    title = f"history: {database}" + ("" if named else f" (port {paths[0]})")
    table = Table(title=escape(title))
    for column in ("#", "UTC", "label", "port", "status", "first divergence", "at",
                   "execution order", "move", "cause"):
        table.add_column(column, justify="right" if column in ("#", "at") else "left",
                         no_wrap=column in ("UTC", "execution order", "move"))
    for run, step in zip(runs[shown], steps[shown], strict=True):
        style = "green" if run.status == "parity" else "red"
        table.add_row(str(run.id), run.recorded_utc[5:16].replace("T", " "),
                      escape(run.label or "—"), _port(run, named),
                      f"[{style}]{run.status}[/{style}]", escape(run.first_name or "—"),
                      _position(run), _strip(run), _move(step), _cause(run))
    con.print(table)
    latest, step = runs[-1], steps[-1]
    if status == "problem":
        before = next((r for r in runs if r.id == step.previous_id), None)
        was = "?" if before is None else f"{before.status} at {_position(before)}"
        con.print(f"[red]problem[/red]: run #{latest.id} moved the first divergence earlier: "
                  f"{was} in run #{step.previous_id}, now {latest.status} at "
                  f"{_position(latest)} ({escape(latest.first_name or 'no divergence')})")
    else:
        con.print(f"[green]ok[/green]: run #{latest.id} did not move the first divergence "
                  f"earlier ({step.direction})")


def history_command(
    database: Annotated[Path, typer.Argument(help="History database written by compare "
                                                  "--history.")],
    last: Annotated[int | None, typer.Option("--last", min=1, help="Show only the last N "
                                             "runs (moves still count earlier runs).")
                    ] = None,
    json_path: Annotated[str | None, typer.Option("--json", help="Write the result as JSON "
                                                  "(- for stdout).")] = None,
) -> None:
    """Show how the first divergence moved across port revisions, run by run.

    Each run is set against the previous run on the same reference: later (the port now
    matches further along the execution order), earlier, or the same. Exit 0 when the
    latest run did not move the first divergence earlier, 1 when it did (a regression),
    2 when the database cannot be read or holds no run.
    """
    runs = read_runs(database)
    if not runs:
        raise InputError(database, "holds no recorded compare yet (run compare --history)")
    steps = moves(runs)
    status = checked(not regressed(runs))
    shown = slice(-last, None) if last else slice(None)
    if json_path != "-":
        _print(console, database, runs, steps, status, shown)
    write_json(json_path, {
        "status": status, "database": str(database), "regressed": status == "problem",
        "latest_status": runs[-1].status, "runs_recorded": len(runs),
        "runs": [{**run.to_json(), "move": step.to_json()}
                 for run, step in zip(runs[shown], steps[shown], strict=True)]})
    raise typer.Exit(exit_code(status))


def register(app: typer.Typer) -> None:
    app.command("history")(history_command)
