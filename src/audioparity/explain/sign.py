"""``sign``: the port equals the reference negated.

Typical origin: a subtraction written the other way round (``b - a``), ``rotate_half``
returning ``cat(x2, -x1)``, or a flipped phase in an ISTFT.

Example
-------
>>> ref = np.random.default_rng(0).normal(size=(2, 64))
>>> match(ref, -ref, ExplainContext()).detail
'port = -ref (residual 0 after negating)'
"""

from __future__ import annotations

import numpy as np

from .arrays import clearly_different, fit_quality, fmt, paired_sample, residual
from .finding import ExplainContext, Finding
from .registry import signature


@signature("sign")
def match(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Finding | None:
    r, p = paired_sample(ref, port)
    if not clearly_different(r, p):
        return None
    res = residual(p, -r)
    if res > 0.05:
        return None
    return Finding("sign", 0.97 * fit_quality(res), f"port = -ref (residual {fmt(res)} after "
                   "negating)", {"c": -1.0, "residual": res},
                   "negate the port here: look for a subtraction written the other way round "
                   "or a sign flip in a rotation/phase")
