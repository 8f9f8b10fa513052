"""What a sweep found: one :class:`JobResult` per setting, ranked, and the JSON shape
(``docs/sweep.md`` documents it; extend it, don't rename its keys)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..contract import checked
from .assess import Assessment
from .command import CommandTemplate
from .grid import Axis, typed
from .job import Job, JobRun

STATUSES = ("scored", "failed", "timeout", "not_started", "no_audio", "unreadable", "crashed")
"""``scored``: the command exited 0 and its WAV was analysed. ``failed``: non-zero exit.
``timeout``: killed at ``--timeout``. ``not_started``: the executable could not be run
(with ``--shell``: the shell exited 126 or 127).
``no_audio``: exit 0 but no file at ``{out}``. ``unreadable``: the file is not audio.
``crashed``: the worker running the job died (pool or Ray error), or analysing its WAV
raised."""


@dataclass
class JobResult:
    """One setting: how its command ended and, when it made a WAV, what the WAV is.

    error : one line saying what went wrong (None for ``scored``).
    rank : 1 for the best scored result; None for jobs without a score.
    """

    job: Job
    status: str
    run: JobRun | None = None
    assessment: Assessment | None = None
    error: str | None = None
    rank: int | None = None

    @property
    def ok(self) -> bool:
        """The job made audio whose verdict is speech or music."""
        return self.assessment is not None and self.assessment.ok

    @property
    def score(self) -> float | None:
        return self.assessment.score.value if self.assessment else None

    def to_dict(self) -> dict:
        run = self.run
        return {"rank": self.rank, "index": self.job.index,
                "params": {k: typed(v) for k, v in self.job.params.items()},
                "argv": list(self.job.argv), "out": self.job.out, "status": self.status,
                "error": self.error, "exit_code": run.exit_code if run else None,
                "wall_s": run.wall_s if run else None,
                "timed_out": run.timed_out if run else False,
                "stderr_tail": run.stderr_tail if run else "",
                "stdout_log": self.job.stdout_log, "stderr_log": self.job.stderr_log,
                "ok": self.ok, "score": self.score,
                "audio": self.assessment.to_dict() if self.assessment else None}


@dataclass
class SweepResult:
    """The ranked jobs (best first) and how the sweep was run."""

    command: CommandTemplate
    axes: list[Axis]
    out_dir: str
    backend: str
    workers: int
    timeout_s: float | None
    ref: str | None
    jobs: list[JobResult] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def best(self) -> JobResult | None:
        """The top-ranked scored job (it may still be noise: check ``ok``)."""
        return next((j for j in self.jobs if j.rank == 1), None)

    @property
    def ok(self) -> bool:
        """At least one setting produced sane audio (speech or music)."""
        return any(j.ok for j in self.jobs)

    def problem(self) -> str:
        """What is wrong when no setting produced sane audio (one line)."""
        if self.best is None:
            return "no job produced readable audio"
        return (f"no setting produced speech or music (the best: "
                f"{self.best.assessment.verdict})")

    def counts(self) -> dict[str, int]:
        return {s: n for s in STATUSES if (n := sum(j.status == s for j in self.jobs))}

    def to_json(self) -> dict:
        best = self.best
        return {
            "status": checked(self.ok),
            "problem": None if self.ok else self.problem(),
            "command": list(self.command.words), "shell": self.command.shell,
            "grid": {a.name: [typed(v) for v in a.values] for a in self.axes},
            "out_dir": self.out_dir, "backend": self.backend, "workers": self.workers,
            "timeout_s": self.timeout_s, "ref": self.ref, "wall_s": self.wall_s,
            "counts": self.counts(),
            "best": None if best is None else {
                "index": best.job.index,
                "params": {k: typed(v) for k, v in best.job.params.items()},
                "out": best.job.out, "score": best.score, "ok": best.ok,
                "verdict": best.assessment.verdict},
            "jobs": [j.to_dict() for j in self.jobs],
        }
