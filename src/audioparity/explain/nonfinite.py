"""``nonfinite``: NaN or Inf appears in the port (or the reference) where the other side is
finite — the first layer where that happens is where to look.

Typical origins: an f16 overflow (max 65504) in an attention score or a variance, ``log`` or
``sqrt`` of a non-positive value, a division by a zero norm, an uninitialised buffer.

Example
-------
>>> ref = np.ones(16, dtype=np.float32); port = ref.copy(); port[3] = np.nan
>>> match(ref, port, ExplainContext()).params["first_index"]
[3]
"""

from __future__ import annotations

import numpy as np

from .finding import ExplainContext, Finding
from .registry import signature


@signature("nonfinite", dtypes="float")
def match(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Finding | None:
    fin_r = np.isfinite(ref)
    fin_p = np.isfinite(port)
    if ref.shape == port.shape:
        new_p = fin_r & ~fin_p
        new_r = fin_p & ~fin_r
    else:
        new_p = ~fin_p if fin_r.all() else np.zeros(port.shape, bool)
        new_r = ~fin_r if fin_p.all() else np.zeros(ref.shape, bool)
    side, where, values = ("port", new_p, port) if new_p.any() else ("ref", new_r, ref)
    count = int(where.sum())
    if count == 0:
        return None
    first = [int(i) for i in np.unravel_index(int(np.argmax(where.ravel())), where.shape)]
    bad = np.asarray(values)[where]
    n_nan = int(np.isnan(bad).sum())
    n_inf = count - n_nan
    frac = count / where.size
    other = "ref" if side == "port" else "port"
    conf = 0.99 if side == "port" else 0.8
    return Finding("nonfinite", conf,
                   f"{side} has {count} non-finite values ({n_nan} NaN, {n_inf} Inf; "
                   f"{frac:.2%}) where {other} is finite; first at index {first}",
                   {"side": side, "count": count, "nan": n_nan, "inf": n_inf,
                    "fraction": frac, "first_index": first},
                   f"NaN/Inf first appears in the {side} here: look for an f16 overflow "
                   "(max 65504), log/sqrt of a non-positive value, a division by a zero norm "
                   "or an uninitialised buffer in this module")
