"""``scale``: the port equals the reference times a constant ``c``.

Seed 000: the port's ISTFT divided by ``n_fft`` (PyTorch normalizes only by the window
envelope), so ``port = ref × 1/2048``. Other usual constants: ``1/sqrt(head_dim)`` applied
twice or not at all, ``1/hop``, ``2``, ``ln 10``; the fitted ``c`` is named when it is within
1% of one of them.

Example
-------
>>> ref = np.random.default_rng(0).normal(size=4096)
>>> match(ref, ref / 2048, ExplainContext()).params["constant"]
'1/2048 = 1/n_fft'
"""

from __future__ import annotations

import numpy as np

from .arrays import clearly_different, fit_quality, fit_tol, fmt, paired_sample, rel_l2, residual
from .constants import nearest_constant
from .finding import ExplainContext, Finding
from .registry import signature


@signature("scale", dtypes="float")
def match(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Finding | None:
    r, p = paired_sample(ref, port)
    rr = float(np.dot(r, r))
    if rr == 0 or not clearly_different(r, p):
        return None
    c = float(np.dot(r, p) / rr)
    if abs(c - 1.0) < 0.01 or abs(c + 1.0) < 0.01 or c == 0:
        return None  # parity/precision, or ``sign``
    res = residual(p, c * r)
    tol = fit_tol(rel_l2(r, p))
    if res > tol:
        return None
    const = nearest_constant(c)
    named = f" ≈ {const}" if const else ""
    if c > 0:
        inv = f"; the port multiplies by {fmt(c)}" if c >= 1 else f"; the port divides by " \
              f"{fmt(1 / c)}"
    else:
        inv = "; note the sign flip"
    return Finding("scale", 0.94 * fit_quality(res, tol),
                   f"port = ref × {fmt(c)}{named} (residual {fmt(res)} after undoing it)",
                   {"c": c, "constant": const, "residual": res},
                   f"remove the extra factor {fmt(c)}{named} from the port{inv}")
