"""A progress bar for long loops: rich on a terminal (stderr), a no-op when piped.

Neutral ground: the library (compare, weights, sweep) and the CLI both use it, so it lives
below both and imports neither.
"""

from __future__ import annotations

import sys
from contextlib import nullcontext
from typing import Any

from rich.console import Console

err_console = Console(stderr=True, highlight=False)


def progress_bar(enabled: bool | None = None):
    """A rich progress bar on a terminal (stderr); a no-op context when piped.

    Use as ``with progress_bar() as bar: task = bar.add_task("compare", total=n)`` — the
    no-op variant accepts the same calls.
    """
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return nullcontext(_NullProgress())
    # only a terminal shows a bar: rich.progress is imported then
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=err_console, transient=True)


class _NullProgress:
    def add_task(self, *args: Any, **kwargs: Any) -> int:
        return 0

    def update(self, *args: Any, **kwargs: Any) -> None:
        pass

    def advance(self, *args: Any, **kwargs: Any) -> None:
        pass
