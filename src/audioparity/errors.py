"""Errors that mean "could not check": the CLI turns them into one line on stderr and exit 2."""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Bad input: a file that is missing, unreadable, corrupt or of the wrong kind.

    ``str(err)`` is the one line the CLI prints: ``PATH: problem``.
    """

    def __init__(self, path: str | Path | None, problem: str):
        self.path = None if path is None else str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


class UsageError(InputError):
    """Arguments that cannot work together (no file to blame)."""

    def __init__(self, problem: str):
        super().__init__(None, problem)
