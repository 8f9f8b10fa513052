"""``drift``: the error grows steadily along an axis — small at the start, large at the end,
with no single step where it appears.

Long-form decoding: a phase accumulated with an f32 ``cumsum`` (sine generators, NSF
vocoders), a recurrent state or a KV cache kept in lower precision, a position counter in
f16. ``params["power"]`` is the fitted exponent of ``error ∝ position^power``.

Example
-------
>>> f = np.full(48000, 440 / 24000 * 2 * np.pi)
>>> ref = np.sin(np.cumsum(f))                                 # f64 phase
>>> port = np.sin(np.cumsum(f.astype(np.float32))).astype(np.float64)
>>> match(ref, port, ExplainContext()).params["axis"]
0
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.stats import spearmanr

from .arrays import axis_name, fmt, position_error
from .finding import ExplainContext, Finding
from .mask import split_point
from .registry import signature

_BINS = 64
_MIN_LEN = 16
_FLOOR = 1e-4


def growth(err: np.ndarray) -> dict | None:
    """Describe a steadily growing per-position error curve, or None if it is not one."""
    n = err.size
    bins = min(_BINS, n)
    edges = np.linspace(0, n, bins + 1).astype(int)
    curve = np.array([err[a:b].mean() for a, b in itertools.pairwise(edges)])
    tenth = max(1, bins // 10)
    start, end = float(curve[:tenth].mean()), float(curve[-tenth:].mean())
    if end < _FLOOR or end < 5 * max(start, 1e-300):
        return None
    rho = float(spearmanr(np.arange(bins), curve).statistic)
    rise = float(curve.max() - curve.min())
    jump = float(np.max(np.diff(curve), initial=0.0))
    if not np.isfinite(rho) or rho < 0.9 or jump > 0.5 * rise:
        return None
    centres = (edges[:-1] + edges[1:]) / 2.0
    ok = curve > 0
    power = float(np.polyfit(np.log(centres[ok] + 1), np.log(curve[ok]), 1)[0]) \
        if ok.sum() >= 2 else float("nan")
    return {"start": start, "end": end, "rho": rho, "power": power}


@signature("drift")
def match(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Finding | None:
    best = None
    for axis in range(ref.ndim):
        if ref.shape[axis] < _MIN_LEN:
            continue
        err = position_error(ref, port, axis)[0]
        if split_point(err, exact=0.05) is not None:
            continue  # exact up to a step, then wrong: that is a ``mask``, not a drift
        g = growth(err)
        if g is not None and (best is None or g["rho"] > best[1]["rho"]):
            best = (axis, g)
    if best is None:
        return None
    axis, g = best
    return Finding("drift", 0.8 * min(1.0, g["rho"]),
                   f"error grows steadily along {axis_name(ref.ndim, axis)} from "
                   f"{fmt(g['start'])} to {fmt(g['end'])} (relative), ∝ position^"
                   f"{fmt(g['power'])}, rank correlation {fmt(g['rho'])}",
                   {"axis": axis, "start": g["start"], "end": g["end"],
                    "power": g["power"], "rho": g["rho"]},
                   "something accumulates in lower precision along this axis: keep phase "
                   "cumsums, recurrent states and position counters in f32/f64, or wrap the "
                   "phase (mod 2π) as the reference does")
