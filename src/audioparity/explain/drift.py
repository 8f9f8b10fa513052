"""``drift``: the error grows steadily along an axis — small at the start, large at the end,
with no single step where it appears.

Long-form decoding: a phase accumulated with an f32 ``cumsum`` (sine generators, NSF
vocoders), a recurrent state or a KV cache kept in lower precision, a position counter in
f16. ``params["power"]`` is the fitted exponent of ``error ∝ position^power``.

Two tests, the second for long signals: (1) the per-position error rises steadily over the
whole axis; (2) *local* growth — the error relative to each window's own energy, in up to
128 windows, is small at the start and climbs gradually on a log scale (its running maximum
takes many windows to rise, no single step) until it saturates. An f32 phase accumulator's
error is a random walk with a trend that steps up where the phase passes a power of two (the
f32 spacing doubles): it crosses zero, and once it passes π the sine error wraps and stops
growing, so only the climb up to the saturation point is tested (``params["method"]`` says
which test held, ``params["saturates_at"]`` where it stopped). Both tests require the error
itself to grow, not only the values it is measured against (a crescendo rounded in bf16 is
``precision``; a fading signal with constant noise is not a drift).

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

from .arrays import axis_name, axis_step, crop_around, fmt, position_error, rows_along
from .finding import ExplainContext, Finding
from .mask import prefix_grows, split_point
from .registry import signature

_BINS = 64
_MIN_LEN = 16
_FLOOR = 1e-4
#: Local test: windows (at most), shortest window, fewest windows the climb must span.
_LOCAL_BINS = 128
_MIN_WINDOW = 16
_LOCAL_MIN_WINDOWS = 8
#: Local test: how much the error must grow, and how steadily while it climbs.
_LOCAL_RATIO = 8.0
_LOCAL_SPAN = 0.2    # share of the windows the climb from 10% to 90% (log) must span
_LOCAL_RHO = 0.5     # rank correlation of the log error with position during the climb
_LOCAL_NEAR = 0.75   # share of climbing windows within a decade of the running maximum


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


def _min_window(row_size: int) -> int:
    """Positions per window: 16 samples' worth of values (one frame of 480 is plenty)."""
    return max(1, -(-_MIN_WINDOW // max(1, row_size)))


def _long_enough(ref: np.ndarray, axis: int) -> bool:
    row = max(1, ref.size // max(1, ref.shape[axis]))
    return ref.shape[axis] // _min_window(row) >= 2 * _LOCAL_MIN_WINDOWS


def _window_error(ref: np.ndarray, port: np.ndarray, axis: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Error relative to each window's own energy along ``axis`` (windows of at least
    :data:`_MIN_WINDOW` positions, at most :data:`_LOCAL_BINS`), the window edges, and the
    windows' absolute RMS error."""
    r = rows_along(crop_around(ref, axis), axis)
    p = rows_along(crop_around(port, axis), axis)
    n = r.shape[0]
    bins = min(_LOCAL_BINS, n // _min_window(r.shape[1]))
    edges = np.linspace(0, n, bins + 1).astype(int)
    d2 = np.add.reduceat(np.sum((p - r) ** 2, axis=1), edges[:-1])
    r2 = np.add.reduceat(np.sum(r * r, axis=1), edges[:-1])
    # quiet windows are measured against a tenth of the typical energy, not their own
    floor = 0.01 * float(np.median(r2)) + 1e-300
    widths = np.diff(edges) * r.shape[1]
    return (np.sqrt(d2 / np.maximum(r2, floor)), edges * axis_step(ref.shape[axis]),
            np.sqrt(d2 / widths))


def _locally_grows(ref: np.ndarray, port: np.ndarray, axis: int) -> bool:
    """The error relative to each window's energy ends at least 3× where it starts."""
    curve = _window_error(ref, port, axis)[0]
    tenth = max(1, curve.size // 10)
    return float(curve[-tenth:].mean()) >= 3 * float(curve[:tenth].mean())


def local_growth(ref: np.ndarray, port: np.ndarray, axis: int) -> dict | None:
    """Local error that starts small and climbs gradually (on a log scale) until it
    saturates, or None. A mask or a padding error climbs from exact to wrong in one window;
    rounding noise does not climb at all; a random walk of the phase does, with dips."""
    if not _long_enough(ref, axis):
        return None
    curve, edges, absolute = _window_error(ref, port, axis)
    bins = curve.size
    tenth = max(1, bins // 10)
    if absolute.max() < _LOCAL_RATIO / 2 * max(float(absolute[:tenth].mean()), 1e-300):
        return None  # only the signal faded: the error itself did not grow
    level = np.log10(np.maximum(curve, 1e-12))
    envelope = np.maximum.accumulate(level)
    start = float(np.log10(max(float(curve[:tenth].mean()), 1e-12)))
    peak = float(envelope[-1])
    rise = peak - start  # decades
    if 10 ** peak < _FLOOR or rise < np.log10(_LOCAL_RATIO):
        return None
    at10 = int(np.argmax(envelope >= start + 0.1 * rise))
    at90 = int(np.argmax(envelope >= start + 0.9 * rise))
    if at90 - at10 < max(_LOCAL_MIN_WINDOWS, int(_LOCAL_SPAN * bins)):
        return None  # reached its level within a few windows: a step, not a drift
    if float(np.max(np.diff(envelope[: at90 + 1]), initial=0.0)) > 0.5 * rise:
        return None
    climb = level[: at90 + 1]
    near = float(np.mean(climb >= envelope[: at90 + 1] - 1.0))  # within a decade of its max
    rho = float(spearmanr(np.arange(climb.size), climb).statistic)
    if not np.isfinite(rho) or rho < _LOCAL_RHO or near < _LOCAL_NEAR:
        return None
    centres = (edges[:-1] + edges[1:])[: at90 + 1] / 2.0
    ok = curve[: at90 + 1] > 0
    power = float(np.polyfit(np.log(centres[ok] + 1), np.log(curve[: at90 + 1][ok]), 1)[0]) \
        if ok.sum() >= 2 else float("nan")
    saturates = int(edges[at90 + 1]) if at90 + 1 < bins else None
    return {"start": 10 ** start, "end": 10 ** peak, "rho": rho, "near": near,
            "power": power, "saturates_at": saturates}


@signature("drift")
def match(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Finding | None:
    best = None
    for axis in range(ref.ndim):
        if ref.shape[axis] < _MIN_LEN:
            continue
        err = position_error(ref, port, axis)[0]
        hit = split_point(err, exact=0.05)
        if hit is not None and not prefix_grows(err, hit[0], hit[1]):
            continue  # exact up to a step, then wrong: that is a ``mask``, not a drift
        g = growth(err)
        if g is not None and _long_enough(ref, axis) and not _locally_grows(ref, port, axis):
            g = None  # the values grew, not the error relative to them (rounding, a gain)
        if g is not None:
            g["method"] = "global"
        elif ref.dtype.kind == "f":
            g = local_growth(ref, port, axis)
            if g is not None:
                g["method"] = "local"
        if g is not None and (best is None or g["rho"] > best[1]["rho"]):
            best = (axis, g)
    if best is None:
        return None
    axis, g = best
    where = f"error grows steadily along {axis_name(ref.ndim, axis)}"
    if g["method"] == "local":
        sat = "" if g["saturates_at"] is None else \
            f", saturating from position {g['saturates_at']} on"
        where = (f"error relative to each window's energy grows gradually along "
                 f"{axis_name(ref.ndim, axis)}{sat}")
    conf = 0.8 * min(1.0, g["rho"]) if g["method"] == "global" else 0.75 * g["near"]
    return Finding("drift", conf,
                   f"{where} from {fmt(g['start'])} to {fmt(g['end'])} (relative), "
                   f"∝ position^{fmt(g['power'])}, rank correlation {fmt(g['rho'])}",
                   {"axis": axis, "start": g["start"], "end": g["end"],
                    "power": g["power"], "rho": g["rho"], "method": g["method"],
                    "saturates_at": g.get("saturates_at")},
                   "something accumulates in lower precision along this axis: keep phase "
                   "cumsums, recurrent states and position counters in f32/f64, or wrap the "
                   "phase (mod 2π) as the reference does")
