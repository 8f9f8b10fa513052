"""Helpers shared by the command modules: output, JSON, progress."""

from __future__ import annotations

import json
import math
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ..atomic import write_text_atomic

# piped output gets a fixed, table-friendly width instead of rich's 80 columns
console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
err_console = Console(stderr=True, highlight=False)


def _clean(obj: Any) -> Any:
    """JSON-safe copy: NaN/Inf floats become strings ("nan", "inf"), tuples lists."""
    if isinstance(obj, float):
        if math.isnan(obj):
            return "nan"
        if math.isinf(obj):
            return "inf" if obj > 0 else "-inf"
        return obj
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # NumPy scalar
        return _clean(obj.item())
    return obj


def dumps_json(obj: Any) -> str:
    return json.dumps(_clean(obj), indent=2, allow_nan=False) + "\n"


def write_json(target: str | Path | None, obj: Any) -> None:
    """Write ``obj`` as JSON to ``target`` atomically; ``"-"`` means stdout; None does nothing."""
    if target is None:
        return
    text = dumps_json(obj)
    if str(target) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_text_atomic(target, text)


def progress_bar(enabled: bool | None = None):
    """A rich progress bar on a terminal (stderr); a no-op context when piped.

    Use as ``with progress_bar() as bar: task = bar.add_task("compare", total=n)`` — the
    no-op variant accepts the same calls.
    """
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return nullcontext(_NullProgress())
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=err_console, transient=True)


class _NullProgress:
    def add_task(self, *args: Any, **kwargs: Any) -> int:
        return 0

    def update(self, *args: Any, **kwargs: Any) -> None:
        pass

    def advance(self, *args: Any, **kwargs: Any) -> None:
        pass
