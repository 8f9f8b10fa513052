"""Where failing trace assertions write their HTML report (set by the pytest plugin).

Kept apart from the plugin so the assertions work outside pytest too: a script may call
:func:`set_report_dir` itself.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_state: dict[str, Path | None] = {"dir": None}
_written: list[Path] = []  # reports of this session: a rerun overwrites its old files
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def set_report_dir(path: str | Path | None) -> None:
    """Write the HTML report of each failing :func:`assert_trace_parity` into ``path``
    (created when needed); ``None`` turns reports off."""
    _state["dir"] = None if path is None else Path(path)


def report_dir() -> Path | None:
    """The folder reports go to, or None when none was asked for."""
    return _state["dir"]


def written_reports() -> list[Path]:
    """Reports written so far in this process, in order."""
    return list(_written)


def report_path(directory: Path) -> Path:
    """The file name in ``directory`` for the running test (pytest's
    ``PYTEST_CURRENT_TEST``), numbered when one test fails more than one assertion; a file
    left by an earlier session is overwritten."""
    test = os.environ.get("PYTEST_CURRENT_TEST", "audioparity").rsplit(" ", 1)[0]
    stem = _UNSAFE.sub("_", test.replace("::", "--")).strip("_")[:150] or "audioparity"
    path = directory / f"{stem}.html"
    k = 1
    while path in _written:
        path = directory / f"{stem}-{k}.html"
        k += 1
    _written.append(path)
    return path
