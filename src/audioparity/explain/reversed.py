"""``reversed``: the port equals the reference with one axis reversed.

Typical origins: a time axis read backwards, frequency bins or a filter flipped (correlation
vs convolution: a conv kernel reversed), a bidirectional RNN's halves swapped.

Example
-------
>>> ref = np.random.default_rng(0).normal(size=(4, 32))
>>> match(ref, ref[:, ::-1], ExplainContext()).params["axis"]
1
"""

from __future__ import annotations

import numpy as np

from .arrays import (
    SAMPLE_LIMIT,
    axis_name,
    clearly_different,
    crop_around,
    fit_quality,
    fmt,
    residual,
)
from .finding import ExplainContext, Finding
from .registry import signature


@signature("reversed")
def match(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Finding | None:
    best: tuple[float, int] | None = None
    for axis in range(ref.ndim):
        if ref.shape[axis] < 2:
            continue
        n = ref.shape[axis]
        m = min(n, SAMPLE_LIMIT)
        p = crop_around(port, axis, max_len=m)
        # the port's first m positions against the reference's last m, reversed
        # (np.flip is a view: a memory-mapped reference stays lazy)
        r_tail = crop_around(np.flip(ref, axis), axis, max_len=m)
        if not clearly_different(crop_around(ref, axis, max_len=m), p):
            continue
        res = residual(p, r_tail)
        base = residual(p, crop_around(ref, axis, max_len=m))
        if res < 0.05 and base > 4 * res and (best is None or res < best[0]):
            best = (res, axis)
    if best is None:
        return None
    res, axis = best
    return Finding("reversed", 0.96 * fit_quality(res),
                   f"port = ref reversed along {axis_name(ref.ndim, axis)} "
                   f"(residual {fmt(res)})", {"axis": axis, "residual": res},
                   f"the port reads axis {axis} backwards: check a flipped kernel "
                   "(convolution vs correlation), a reversed time/frequency index or a "
                   "negative stride")
