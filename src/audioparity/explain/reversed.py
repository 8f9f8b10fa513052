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

from .arrays import axis_name, clearly_different, crop_around, fit_quality, fmt, residual
from .finding import ExplainContext, Finding
from .registry import signature


@signature("reversed")
def match(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Finding | None:
    best: tuple[float, int] | None = None
    for axis in range(ref.ndim):
        if ref.shape[axis] < 2:
            continue
        r = crop_around(ref, axis)
        p = crop_around(port, axis)
        if not clearly_different(r, p):
            continue
        res = residual(p, np.flip(r, axis))
        if res < 0.05 and residual(p, r) > 4 * res and (best is None or res < best[0]):
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
