"""Can the command start at all? A sweep whose executable is missing or not executable
could not check anything: one line and exit 2, not a table of identical failures.

Without ``--shell`` the executable is looked up before any job runs. With ``--shell`` it is
``/bin/sh``, which always starts; the shell itself reports a command it cannot run with exit
status 127 (not found) or 126 (found but not executable), which a job turns into
``not_started``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..errors import InputError
from .job import Job, JobRun

SHELL_CANNOT_RUN = {126: "not executable", 127: "not found"}
"""POSIX shell exit statuses for a command it could not run."""


def why_not_runnable(program: str) -> str | None:
    """Why ``program`` (a path, or a name looked up on ``PATH``) cannot be executed, or None.

    >>> why_not_runnable("sh") is None
    True
    >>> why_not_runnable("no-such-generator-xyz")
    'command not found (not on PATH)'
    """
    if os.sep not in program:
        return None if shutil.which(program) else "command not found (not on PATH)"
    path = Path(program)
    if not path.exists():
        return "no such file (the command's executable)"
    if path.is_dir():
        return "is a directory, not an executable"
    if not os.access(path, os.X_OK):
        return ("is not executable: chmod +x it, or put its interpreter first "
                "(python gen.py)")
    return None


def check_executables(jobs: list[Job]) -> None:
    """Refuse a sweep whose jobs' executable cannot run (each distinct one checked once).

    Raises
    ------
    InputError : naming the executable and why it cannot run.
    """
    for program in dict.fromkeys(job.argv[0] for job in jobs):
        problem = why_not_runnable(program)
        if problem:
            raise InputError(program, problem)


def shell_could_not_run(job: Job, run: JobRun) -> bool:
    """A ``--shell`` job whose shell said it could not run the command (exit 126 / 127)."""
    return job.argv[:2] == ("/bin/sh", "-c") and run.exit_code in SHELL_CANNOT_RUN
