"""``clipping``: the port saturates where the reference does not — a hard clip or a soft
(tanh-like) limiter on the large values, the small ones untouched.

Seed 000: soprano-rs peak-normalised its audio and soft-clipped it with ``tanh`` above 0.8.
Seed 004: Stable Audio's output clipped to [-1, 1] after a CFG scale of 7 (7% of samples).

Example
-------
>>> ref = np.random.default_rng(0).normal(scale=0.6, size=24000)
>>> match(ref, np.clip(ref, -1, 1), ExplainContext()).params["kind"]
'hard'
"""

from __future__ import annotations

import numpy as np

from .arrays import clearly_different, fit_quality, fmt, paired_sample, rel_l2, residual
from .finding import ExplainContext, Finding
from .registry import signature


def _soft_fit(r: np.ndarray, p: np.ndarray, c: float) -> tuple[float, float]:
    """Best ``A`` for ``p ≈ A·tanh(c·r / A)`` on a grid above max |p|; returns (A, residual)."""
    peak = float(np.max(np.abs(p)))
    best = (peak, np.inf)
    for f in (1.0, 1.01, 1.02, 1.05, 1.1, 1.2, 1.35, 1.5, 1.75, 2.0, 2.5, 3.0):
        amp = peak * f
        res = residual(p, amp * np.tanh(c * r / amp))
        if res < best[1]:
            best = (amp, res)
    return best


@signature("clipping", dtypes="float")
def match(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Finding | None:
    r, p = paired_sample(ref, port)
    if r.size < 16 or not clearly_different(r, p):
        return None
    mag = np.abs(r)
    fit = None
    for q in (0.5, 0.1):  # heavy clipping reaches below the median
        central = mag <= np.quantile(mag, q)
        rc = r[central]
        if np.any(rc):
            c = float(np.dot(rc, p[central]) / np.dot(rc, rc))
            if c != 0 and residual(p[central], c * rc) <= 0.05:
                fit = c
                break
    if fit is None:
        return None
    c = fit
    lin = c * r
    top = mag >= np.quantile(mag, 0.99)
    compressed = np.abs(p[top]) < 0.97 * np.abs(lin[top])
    if compressed.mean() < 0.9:
        return None
    touched = np.abs(p - lin) > 0.01 * np.abs(lin) + 1e-12
    frac = float(touched.mean())
    hi, lo = float(p.max()), float(p.min())
    at_rail = (p >= hi - 1e-6 * max(abs(hi), 1e-12)) | (p <= lo + 1e-6 * max(abs(lo), 1e-12))
    hard_res = residual(p, np.clip(lin, lo, hi))
    amp, soft_res = _soft_fit(r, p, c)
    if at_rail.mean() > 0.001 and hard_res <= soft_res:
        kind, res, level = "hard", hard_res, [lo, hi]
        frac = float(at_rail.mean())
        what = f"hard clip at [{fmt(lo)}, {fmt(hi)}]"
    elif soft_res < 0.05:
        kind, res, level = "soft", soft_res, [-amp, amp]
        what = f"soft clip ≈ {fmt(amp)}·tanh(ref/{fmt(amp / c)})"
    else:
        kind, res, level = "compressive", min(hard_res, soft_res), [lo, hi]
        what = "compressive saturation of the large values"
    if res > max(0.2, 0.5 * rel_l2(r, p)) and kind == "compressive":
        return None
    gain = "" if abs(c - 1) < 0.01 else f" after a gain of {fmt(c)}"
    conf = 0.88 * max(fit_quality(res, 0.2), 0.3)
    return Finding("clipping", conf,
                   f"port = {what}{gain}: {frac:.2%} of values changed, the rest exact "
                   f"(residual {fmt(res)})",
                   {"kind": kind, "gain": c, "level": level, "fraction": frac,
                    "residual": res},
                   "remove the limiter/normalisation the port applies here (or lower the "
                   "gain/CFG scale feeding it); the reference does not saturate")
