"""``audioparity sweep --grid NAME=V1,V2 ... -- COMMAND {NAME} {out}``: run a generation
command over a parameter grid and rank the WAVs by audio metrics (seed 004) or, with
``--ref``, by similarity to a reference; ``--html`` writes the page of
:mod:`audioparity.report.sweep_html`."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..contract import exit_code
from .common import console, progress_bar, write_json

if TYPE_CHECKING:  # the sweep stack imports scipy: only load it when a sweep runs
    from ..sweep import SweepResult

_STYLE = {"good": "green", "clipped": "yellow", "bad": "red"}


def _num(value: float | None, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return format(value, spec) if math.isfinite(value) else str(value)


def _table(result: SweepResult) -> Table:
    with_ref = result.ref is not None
    n = len(result.jobs)
    table = Table(title=f"sweep: {n} setting{'s' * (n != 1)}, ranked best first")
    columns = ["#", "setting", "status", "verdict", "score", "clip %", "HF %", "flatness"]
    columns += ["sim", "SNR dB", "PESQ"] if with_ref else []
    columns += ["dur s", "time s"]
    for name in columns:
        table.add_column(name, justify="left" if name in ("setting", "status", "verdict")
                         else "right")
    for r in result.jobs:
        run, a = r.run, r.assessment
        row = [str(r.rank) if r.rank else "—", escape(r.job.label()), r.status]
        if a is None:
            row += ["—"] * (len(columns) - 4)  # all but #, setting, status and time
        else:
            m, style = a.metrics, _STYLE[a.score.band]
            clip = 100 * max(m["clipped_fraction"], m["flat_top_fraction"])
            row += [f"[{style}]{a.verdict}[/{style}]", f"{a.score.value:.1f}", f"{clip:.2f}",
                    f"{100 * m['high_frequency_ratio']:.1f}", f"{m['spectral_flatness']:.3f}"]
            if with_ref:
                row += [_num(a.score.similarity, ".2f"),
                        _num(a.reference.get("snr_db_gain_corrected"), ".1f"),
                        _num(a.reference.get("pesq_wb"), ".2f")]
            row.append(f"{a.duration_s:.2f}")
        row.append(_num(run.wall_s if run else None, ".1f"))
        table.add_row(*row)
    return table


def _summary(result: SweepResult) -> str:
    best = result.best
    if best is None:
        return "[red]no job produced readable audio[/red]"
    a = best.assessment
    where = escape(best.job.out)
    if result.ok:
        return (f"[green]best:[/green] {escape(best.job.label())} → {a.verdict}, score "
                f"{a.score.value:.1f}: {where}")
    return (f"[red]no setting produced speech or music[/red]; the least bad: "
            f"{escape(best.job.label())} → {a.verdict}, score {a.score.value:.1f}: {where}")


def sweep(
    command: Annotated[list[str] | None, typer.Argument(
        help="The generation command after --, with {name} for each --grid parameter and "
             "{out} for the WAV it must write.", show_default=False)] = None,
    grid: Annotated[list[str] | None, typer.Option(
        "--grid", "-g", help="A parameter and its values: name=v1,v2,... or "
                             "name=start:stop[:step] (stop included). Repeat for more.",
        show_default=False)] = None,
    ref: Annotated[Path | None, typer.Option(
        "--ref", help="Reference WAV: rank by similarity to it first (SNR, MR-STFT, PESQ, "
                      "STOI), then by the audio's own quality.")] = None,
    jobs: Annotated[int | None, typer.Option(
        "--jobs", "-j", min=1, help="Jobs at a time (default: min(4, CPU cores)); use 1 "
                                    "for a command that needs the whole GPU.",
        show_default=False)] = None,
    ray: Annotated[bool, typer.Option(
        "--ray", help="Run the jobs as Ray tasks (the ray extra); a local Ray instance "
                      "unless --ray-address or RAY_ADDRESS names a cluster.")] = False,
    ray_address: Annotated[str | None, typer.Option(
        "--ray-address", help="Ray cluster to run on, e.g. ray://head:10001 "
                              "(implies --ray).")] = None,
    timeout: Annotated[float, typer.Option(
        "--timeout", min=0.001, help="Per-job limit in seconds; a job past it is killed "
                                     "and reported as timeout.")] = 600.0,
    out_dir: Annotated[Path, typer.Option(
        "--out-dir", "-o", help="Where each job's WAV and logs go.")] = Path("sweep-runs"),
    force: Annotated[bool, typer.Option(
        "--force", help="Overwrite files an earlier sweep left in --out-dir.")] = False,
    shell: Annotated[bool, typer.Option(
        "--shell", help="Run the command through /bin/sh (pipes, &&); substituted values "
                        "are shell-quoted.")] = False,
    vad: Annotated[bool, typer.Option(
        "--vad/--no-vad", help="Ask Silero VAD for a second opinion on speech.")] = True,
    json_path: Annotated[str | None, typer.Option(
        "--json", help="Write the ranked result as JSON (- for stdout).")] = None,
    html: Annotated[Path | None, typer.Option(
        "--html", help="Write one self-contained HTML page: the ranking, and per result "
                       "an audio player and a spectrogram.", show_default=False)] = None,
) -> None:
    """Run a generation command for every setting of a grid and rank its WAVs.

    Each WAV gets the audio verdict (speech, noise, clipped, ...), clipping,
    high-frequency energy, noisiness and, with --ref, its distance to the
    reference. The score puts clean speech or music above clipped audio above
    noise (docs/sweep.md). Failed, timed-out or silent jobs are reported.

    audioparity sweep -g cfg=1,3,7 -g steps=10,30 -- python gen.py
    --cfg {cfg} --steps {steps} --out {out}

    Exit 0 when a setting produced speech or music, 1 when none did, 2 for
    bad usage (no grid, no command, a placeholder without values, bad --ref)
    or a command that cannot start (not found, not executable).
    """
    from ..sweep import run_sweep

    if html is not None:
        from ..report.sweep_html import check_html_target

        check_html_target(html)
    human = Console(quiet=True) if json_path == "-" else console
    with progress_bar() as bar:
        task = bar.add_task("sweep", total=None)
        result = run_sweep(
            grid or [], command or [], out_dir, shell=shell, ref=ref, workers=jobs,
            timeout_s=timeout, ray=ray, ray_address=ray_address, use_vad=vad, force=force,
            on_start=lambda n: bar.update(task, total=n),
            on_done=lambda r: bar.advance(task))
    human.print(_table(result))
    for r in result.jobs:
        if r.error:
            human.print(f"  [red]{escape(r.job.label())}[/red]: {escape(r.error)}")
    human.print(_summary(result))
    n = len(result.jobs)
    human.print(f"{n} job{'s' * (n != 1)} in {result.wall_s:.1f} s on {result.backend} "
                f"({result.workers} at a time); WAVs and logs in {escape(result.out_dir)}")
    payload = result.to_json()
    write_json(json_path, payload)
    if html is not None:
        from ..report.sweep_html import write_sweep_html

        write_sweep_html(html, payload)
        human.print(f"HTML page: {escape(str(html))}")
    raise typer.Exit(exit_code(payload["status"]))


def register(app: typer.Typer) -> None:
    """Add the ``sweep`` command to the CLI."""
    app.command("sweep", context_settings={"allow_interspersed_args": False})(sweep)
