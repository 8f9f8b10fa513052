"""Sweep a generation command over a parameter grid and rank its WAVs by audio metrics.

Seed 004's engineer generated five WAVs with different CFG scales, step counts and samplers
and listened to them. :func:`run_sweep` does that for any command: :mod:`.grid` expands the
``--grid`` axes, :mod:`.command` fills the ``{name}`` / ``{out}`` placeholders, :mod:`.plan`
assigns each setting its WAV, :mod:`.executable` refuses a command that cannot start,
:mod:`.runner` runs the jobs (process pool or Ray) and
:mod:`.assess` analyses each WAV where it was made, :mod:`.score` turns the analysis into
one number and :mod:`.rank` orders the results; :mod:`.result` holds them and the JSON.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import UsageError
from .command import CommandTemplate, check_template
from .executable import check_executables
from .grid import Axis, parse_grid
from .plan import claim_outputs, plan_jobs
from .rank import rank
from .result import JobResult, SweepResult
from .runner import (
    Done,
    RunOptions,
    check_ray_address,
    default_workers,
    run_local,
    run_ray,
)

__all__ = ["Axis", "CommandTemplate", "JobResult", "RunOptions", "SweepResult",
           "default_workers", "run_sweep"]


def run_sweep(grid: Sequence[str], command: Sequence[str], out_dir: str | Path,
              *, shell: bool = False, ref: str | Path | None = None,
              workers: int | None = None, timeout_s: float | None = 600.0,
              ray: bool = False, ray_address: str | None = None, use_vad: bool = True,
              force: bool = False, on_start: Callable[[int], None] = lambda n: None,
              on_done: Done = lambda r: None) -> SweepResult:
    """Run ``command`` once per setting of ``grid`` and rank the WAVs it writes.

    Parameters
    ----------
    grid : ``--grid`` values, e.g. ``["cfg=1,3,7", "steps=10:50:20"]``.
    command : the argv template with ``{name}`` placeholders and ``{out}``.
    out_dir : where each job's WAV and logs go (created; existing files are refused
        unless ``force``).
    ref : a reference WAV to compare every output with (SNR, MR-STFT, PESQ, STOI).
    workers : jobs at a time (default :func:`default_workers`); CPUs of a local Ray.
    timeout_s : per-job limit in seconds (None: no limit).
    on_start, on_done : progress callbacks (job count; each finished job).

    Raises
    ------
    UsageError / InputError : a bad grid, template, out_dir or reference, or an executable
        that cannot run (nothing is run); every job's command could not start (a
        ``--shell`` command the shell did not find).
    """
    axes = parse_grid(list(grid))
    template = CommandTemplate(tuple(command), shell)
    check_template(template, [a.name for a in axes])
    ref_path = None
    if ref is not None:
        from ..audio import load_audio

        load_audio(ref, max_analysed_s=1.0, excerpts=False)  # InputError if unusable
        ref_path = str(Path(ref).resolve())
    if ray or ray_address:
        check_ray_address(ray_address)
    jobs = plan_jobs(axes, template, out_dir)
    if not (ray_address or (ray and os.environ.get("RAY_ADDRESS"))):
        check_executables(jobs)  # a cluster's nodes may have what this machine lacks
    claim_outputs(jobs, out_dir, force)
    workers = workers or default_workers()
    options = RunOptions(timeout_s=timeout_s, ref=ref_path, use_vad=use_vad)
    on_start(len(jobs))
    start = time.perf_counter()
    if ray or ray_address:
        results = run_ray(jobs, options, ray_address, workers, on_done)
    else:
        results = run_local(jobs, options, workers, on_done)
    if all(r.status == "not_started" for r in results):
        raise UsageError(f"the command {results[0].error} (every job)")
    return SweepResult(command=template, axes=axes, out_dir=str(Path(out_dir).resolve()),
                       backend="ray" if ray or ray_address else "local",
                       workers=workers, timeout_s=timeout_s, ref=ref_path,
                       jobs=rank(results), wall_s=time.perf_counter() - start)
