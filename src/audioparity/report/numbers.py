"""How a metric is written in a report: ``-`` for none, ``inf``/``nan`` spelled out."""

from __future__ import annotations

import math


def format_metric(x: float | None, spec: str) -> str:
    """``format(x, spec)``, with ``-`` for None and ``inf``, ``-inf``, ``nan`` as words."""
    if x is None:
        return "-"
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return format(x, spec)
