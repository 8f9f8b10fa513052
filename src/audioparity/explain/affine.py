"""``affine``: the port equals ``a·ref + b`` with a real offset ``b``.

Seed 002: the Swift port applied ``mel * 0.75 - 5.0`` to the decoder output before the
vocoder, a transform that exists nowhere in the Python reference. A pure factor is ``scale``,
a pure negation ``sign``; this fires only when the offset matters.

Example
-------
>>> mel = np.random.default_rng(0).normal(-6, 2, size=(80, 100))
>>> match(mel, mel * 0.75 - 5.0, ExplainContext()).params["a"]
0.75
"""

from __future__ import annotations

import numpy as np

from .arrays import clearly_different, fit_quality, fit_tol, fmt, paired_sample, rel_l2, residual
from .finding import ExplainContext, Finding
from .registry import signature


@signature("affine", dtypes="float")
def match(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Finding | None:
    r, p = paired_sample(ref, port)
    if not clearly_different(r, p):
        return None
    rc = r - r.mean()
    var = float(np.dot(rc, rc))
    if var == 0:
        return None
    a = float(np.dot(rc, p - p.mean()) / var)
    b = float(p.mean() - a * r.mean())
    res = residual(p - b - a * r.mean(), a * rc)  # relative to the part that varies
    spread = abs(a) * float(np.sqrt(var / r.size))
    tol = fit_tol(rel_l2(r, p))
    if res > tol or a == 0 or abs(b) < 0.02 * max(spread, 1e-30) + 1e-7 * float(
            np.max(np.abs(r))):
        return None
    if residual(p, float(np.dot(r, p) / max(np.dot(r, r), 1e-300)) * r) < 2 * res + 1e-6:
        return None  # a pure scale explains it as well
    a_r, b_r = round(a, 6), round(b, 6)
    sign = "-" if b < 0 else "+"
    return Finding("affine", 0.92 * fit_quality(res, tol),
                   f"port = {fmt(a)} × ref {sign} {fmt(abs(b))} (residual {fmt(res)} after "
                   "undoing it)", {"a": a_r, "b": b_r, "residual": res},
                   f"remove the transform x*{fmt(a)}{sign}{fmt(abs(b))} the port applies here "
                   "(or apply the reference's own normalization instead)")
