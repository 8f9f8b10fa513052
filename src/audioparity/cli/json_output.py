"""JSON output of every command: the contract of :mod:`audioparity.contract` (schema
version first, NaN/Inf as strings), atomic files, ``-`` for stdout.

Kept apart from :mod:`.common` so the console script's error path (``--json -`` on exit 2)
imports neither rich nor a command module.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from ..atomic import write_text_atomic
from ..contract import versioned

__all__ = ["dumps_json", "json_on_stdout", "write_json"]


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


class _StdoutJson:
    """Whether this run has put a JSON document on stdout (the CLI then adds no error one)."""

    written = False


json_on_stdout = _StdoutJson()


def write_json(target: str | Path | None, obj: Any) -> None:
    """Write ``obj`` as JSON to ``target`` atomically; ``"-"`` means stdout; None does nothing.

    A dict gets ``schema_version`` as its first key (:func:`audioparity.contract.versioned`).
    """
    if target is None:
        return
    text = dumps_json(versioned(obj))
    if str(target) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        json_on_stdout.written = True
    else:
        write_text_atomic(target, text)
