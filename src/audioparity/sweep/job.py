"""One job of a sweep: a filled-in command, run as a subprocess with a time limit.

The job's stdout and stderr go to log files beside its WAV (so parallel jobs never mix their
output into the sweep's own, and nothing is held in memory); the tail of stderr comes back
in the result because that is where a Python traceback or a CUDA error ends up.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

STDERR_TAIL_LINES = 15
STDERR_TAIL_BYTES = 8192
TERMINATE_GRACE_S = 3.0
"""After the timeout, SIGTERM; this long later, SIGKILL for whatever is left."""


@dataclass(frozen=True)
class Job:
    """A setting of the grid and the command that produces its WAV.

    params : the grid values, as the command receives them.
    argv : the command with its placeholders filled.
    out : absolute path of the WAV the command must write (``{out}``).
    """

    index: int
    params: dict[str, str]
    argv: tuple[str, ...]
    out: str

    @property
    def stdout_log(self) -> str:
        return str(Path(self.out).with_suffix(".stdout.log"))

    @property
    def stderr_log(self) -> str:
        return str(Path(self.out).with_suffix(".stderr.log"))

    def label(self) -> str:
        """``cfg=7 steps=30``: the setting as a user would write it."""
        return " ".join(f"{k}={v}" for k, v in self.params.items())


@dataclass(frozen=True)
class JobRun:
    """How the command ended.

    exit_code : the process's exit status (None when it never started or was killed at
        the time limit; negative: killed by that signal).
    wall_s : seconds from start to exit.
    start_error : why the command could not start (executable missing, not executable).
    """

    exit_code: int | None
    wall_s: float
    timed_out: bool = False
    start_error: str | None = None
    stderr_tail: str = ""


def _tail(path: str, lines: int = STDERR_TAIL_LINES) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - STDERR_TAIL_BYTES))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _stop(proc: subprocess.Popen) -> None:
    """End the job and everything it started (it runs in its own process group)."""
    for sig, grace in ((signal.SIGTERM, TERMINATE_GRACE_S), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        if grace is not None:
            try:
                proc.wait(grace)
                return
            except subprocess.TimeoutExpired:
                continue
    proc.wait()


def run_job(job: Job, timeout_s: float | None) -> JobRun:
    """Run ``job.argv`` (no shell unless the argv is one) for at most ``timeout_s`` seconds.

    The process gets its own session, so a timeout (or Ctrl-C of the sweep) ends the
    whole tree it started, e.g. a shell's children.
    """
    Path(job.out).parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(job.stdout_log, "wb") as out, open(job.stderr_log, "wb") as err:
        try:
            proc = subprocess.Popen(job.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    start_new_session=True)
        except OSError as exc:
            return JobRun(None, time.perf_counter() - start,
                          start_error=f"{exc.strerror or exc}: {job.argv[0]}")
        try:
            code = proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            _stop(proc)
            return JobRun(None, time.perf_counter() - start, timed_out=True,
                          stderr_tail=_tail(job.stderr_log))
        finally:
            if proc.returncode is None:  # interrupted: leave no orphan behind
                _stop(proc)
    return JobRun(code, time.perf_counter() - start, stderr_tail=_tail(job.stderr_log))
