"""Run a sweep's jobs: in this process (one worker), on a local process pool, or on Ray.

The unit of work is :func:`execute` — run the command, then analyse its WAV where it was
written — so a pool worker or a Ray node sends back numbers, not audio, and the analysis
(pitch tracking, Silero VAD, PESQ) runs in parallel with the other jobs. A job that fails
in any way becomes a :class:`JobResult` with a status; it never stops the sweep.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, UsageError
from .assess import assess_wav
from .executable import shell_could_not_run
from .job import Job, JobRun, run_job
from .result import JobResult

Done = Callable[[JobResult], None]
"""Called with each result as it arrives (progress bars)."""


@dataclass(frozen=True)
class RunOptions:
    """Settings every job shares.

    timeout_s : per-job wall-clock limit in seconds (None: none).
    ref : absolute path of the reference WAV, or None.
    use_vad : ask Silero VAD for its opinion on speech (as ``audio inspect`` does).
    """

    timeout_s: float | None
    ref: str | None = None
    use_vad: bool = True


def default_workers() -> int:
    """min(4, CPU cores): generation commands are often multi-threaded themselves."""
    return min(4, os.cpu_count() or 1)


def _failure(run: JobRun) -> str:
    """``exit code 3: RuntimeError: CUDA out of memory`` (the last stderr line)."""
    code = run.exit_code
    what = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
    last = run.stderr_tail.splitlines()[-1:] if run.stderr_tail else []
    return what + (f": {last[0].strip()[:200]}" if last else "")


def _crashed(job: Job, exc: BaseException, run: JobRun | None = None,
             what: str = "worker died") -> JobResult:
    return JobResult(job, "crashed", run, error=f"{what}: {type(exc).__name__}: {exc}"[:300])


def execute(job: Job, options: RunOptions) -> JobResult:
    """Run one job and, if it wrote a readable WAV, assess it. Never raises for a bad job."""
    run = run_job(job, options.timeout_s)
    if run.start_error:
        return JobResult(job, "not_started", run, error=f"could not start: {run.start_error}")
    if shell_could_not_run(job, run):
        return JobResult(job, "not_started", run, error=f"could not start: {_failure(run)}")
    if run.timed_out:
        return JobResult(job, "timeout", run, error=f"timed out after {options.timeout_s:g} s")
    if run.exit_code != 0:
        return JobResult(job, "failed", run, error=_failure(run))
    if not Path(job.out).is_file():
        return JobResult(job, "no_audio", run, error=f"exit 0 but nothing written at {job.out}")
    try:
        assessment = assess_wav(job.out, options.ref, options.use_vad)
    except InputError as exc:  # names the file: the job's WAV (or, if it broke, --ref)
        return JobResult(job, "unreadable", run, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - one odd WAV must not end a long sweep
        return _crashed(job, exc, run, "analysis failed")
    return JobResult(job, "scored", run, assessment)


def run_local(jobs: list[Job], options: RunOptions, workers: int,
              on_done: Done = lambda r: None) -> list[JobResult]:
    """Run ``jobs`` with at most ``workers`` at a time on a local process pool.

    One worker runs them here, in order, without a pool. Pool workers are spawned, not
    forked: forking a process that holds threads (rich's refresh, torch) can deadlock.
    """
    results = []
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            results.append(execute(job, options))
            on_done(results[-1])
        return results
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context) as pool:
        futures = {pool.submit(execute, job, options): job for job in jobs}
        for future in as_completed(futures):
            try:
                result = future.result()
            except Exception as exc:  # noqa: BLE001 - a dead worker is one failed job
                result = _crashed(futures[future], exc)
            results.append(result)
            on_done(result)
    return results


def check_ray_address(address: str | None, timeout_s: float = 5.0) -> None:
    """Fail fast on a cluster address nothing answers at (``ray.init`` would retry for
    minutes). ``None`` / ``auto`` / ``local`` are left to Ray; ``RAY_ADDRESS`` counts.

    Raises
    ------
    UsageError : the address is not ``host:port`` or no server accepts a connection there.
    """
    address = address or os.environ.get("RAY_ADDRESS")
    if not address or address in ("auto", "local"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--ray-address {address}: expected host:port or ray://host:port")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise UsageError(f"--ray-address {address}: nothing answers there "
                         f"({exc.strerror or type(exc).__name__})") from None


def run_ray(jobs: list[Job], options: RunOptions, address: str | None, workers: int,
            on_done: Done = lambda r: None) -> list[JobResult]:
    """Run ``jobs`` as Ray tasks (1 CPU each) on the cluster at ``address``.

    Without an address (and no ``RAY_ADDRESS`` in the environment) a local Ray instance
    with ``workers`` CPUs is started and shut down afterwards. On a cluster every node
    needs audioparity installed and the generation command runnable; ``{out}`` is an
    absolute path, so put ``--out-dir`` on storage the nodes share to listen afterwards.
    """
    try:
        import ray
    except ImportError:
        raise UsageError("--ray needs Ray: pip install 'audioparity[ray]'") from None
    started = not ray.is_initialized()
    if started:
        try:
            ray.init(address=address, num_cpus=None if address else workers,
                     include_dashboard=False, log_to_driver=False,
                     logging_level=logging.ERROR)
        except Exception as exc:  # noqa: BLE001 - ray raises many types for a bad address
            where = address or os.environ.get("RAY_ADDRESS") or "a local instance"
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise UsageError(f"--ray: cannot start or reach Ray at {where}: {first}") from None
    try:
        task = ray.remote(num_cpus=1)(execute)
        pending = {task.remote(job, options): job for job in jobs}
        results = []
        while pending:
            (ready,), _ = ray.wait(list(pending), num_returns=1)
            job = pending.pop(ready)
            try:
                result = ray.get(ready)
            except Exception as exc:  # noqa: BLE001 - RayTaskError, WorkerCrashedError, ...
                result = _crashed(job, exc)
            results.append(result)
            on_done(result)
        return results
    finally:
        if started:
            ray.shutdown()
