"""From grid and template to jobs: one WAV path per setting inside ``--out-dir``, and the
rule that a sweep never overwrites a file it finds there unless told to (``--force``).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import InputError
from .command import CommandTemplate, render
from .grid import Axis, settings
from .job import Job

_UNSAFE = re.compile(r"[^A-Za-z0-9.+-]+")
MAX_STEM_CHARS = 120


def job_stem(index: int, params: dict[str, str], width: int = 3) -> str:
    """``007_cfg-7_steps-30``: the job's number, then its setting, safe as a file name."""
    setting = "_".join(f"{k}-{_UNSAFE.sub('_', v).strip('_') or 'x'}" for k, v in params.items())
    return f"{index:0{width}d}_{setting}"[:MAX_STEM_CHARS]


def plan_jobs(axes: list[Axis], template: CommandTemplate, out_dir: str | Path) -> list[Job]:
    """One :class:`Job` per grid setting, in grid order, writing ``out_dir/<stem>.wav``.

    ``{out}`` is filled with an absolute path, so the command may change directory (and a
    Ray node resolves it the same way).
    """
    root = Path(out_dir).resolve()
    grid = settings(axes)
    width = max(3, len(str(len(grid) - 1)))
    jobs = []
    for index, params in enumerate(grid):
        out = str(root / f"{job_stem(index, params, width)}.wav")
        jobs.append(Job(index, params, tuple(render(template, params, out)), out))
    return jobs


def claim_outputs(jobs: list[Job], out_dir: str | Path, force: bool) -> None:
    """Create ``out_dir`` and make sure no job will overwrite an existing file.

    With ``force`` the files a job would write (WAV and logs) are removed first, so a stale
    WAV from an earlier sweep cannot pass for this run's output.

    Raises
    ------
    InputError : ``out_dir`` is a file; a job's file exists (without ``force``) or is a
        directory.
    """
    root = Path(out_dir)
    if root.exists() and not root.is_dir():
        raise InputError(root, "--out-dir exists and is not a directory")
    for job in jobs:
        for path in map(Path, (job.out, job.stdout_log, job.stderr_log)):
            if path.is_dir():
                raise InputError(path, "is a directory where the sweep writes a job's file")
            if path.exists() and not force:
                raise InputError(path, "already exists (an earlier sweep?): pass --force to "
                                       "overwrite, or choose another --out-dir")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(root, f"cannot create --out-dir: {exc.strerror or exc}") from None
    for job in jobs:
        for path in map(Path, (job.out, job.stdout_log, job.stderr_log)):
            path.unlink(missing_ok=True)
