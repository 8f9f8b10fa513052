"""How much a tensor depends on the conditioning: a normalised difference between its values
under condition A and under condition B.

Pure functions on arrays. ``0`` means the tensor is the same under both conditions (it
ignores the condition, or the condition has not reached it yet); values around 1 mean the
condition changes the tensor as much as the tensor's own size.

>>> import numpy as np
>>> a = np.ones((2, 3)); b = a.copy(); b[0, 0] = 2.0
>>> round(dependence(a, b), 3)
0.365
>>> dependence(a, a)  # exact: identical arrays
0.0
"""

from __future__ import annotations

import numpy as np

#: below this the tensor counts as independent of the condition (float noise of a
#: recomputation stays orders of magnitude under it)
INDEPENDENT = 1e-5
#: at or above this the tensor clearly carries the condition
LIVE = 1e-3
#: a port whose dependence is below this share of the reference's has lost the condition
LOST_RATIO = 0.1
#: between LOST_RATIO and this share the condition is weakened (reported, not a problem)
WEAK_RATIO = 0.5
#: elements per chunk when summing (bounded temporaries on large tensors)
_CHUNK = 1 << 20


def dependence(a: np.ndarray, b: np.ndarray) -> float:
    """``‖a − b‖ / rms(‖a‖, ‖b‖)``: 0 when equal, up to 2 for opposite tensors (unitless).

    NaN/Inf elements count as 0 on both sides; two all-zero tensors give 0.

    Raises
    ------
    ValueError : the shapes differ.
    """
    if np.shape(a) != np.shape(b):
        raise ValueError(f"shapes differ: {list(np.shape(a))} vs {list(np.shape(b))}")
    fa, fb = np.asarray(a).reshape(-1), np.asarray(b).reshape(-1)
    diff = norm_a = norm_b = 0.0
    for start in range(0, fa.size, _CHUNK):
        x = np.nan_to_num(np.asarray(fa[start:start + _CHUNK], dtype=np.float64),
                          nan=0.0, posinf=0.0, neginf=0.0)
        y = np.nan_to_num(np.asarray(fb[start:start + _CHUNK], dtype=np.float64),
                          nan=0.0, posinf=0.0, neginf=0.0)
        diff += float(np.sum(np.square(x - y)))
        norm_a += float(np.sum(np.square(x)))
        norm_b += float(np.sum(np.square(y)))
    scale = np.sqrt(0.5 * (norm_a + norm_b))
    return 0.0 if scale == 0.0 else float(np.sqrt(diff) / scale)


def judge(ref: float | None, port: float | None) -> str:
    """One aligned tensor's verdict from its two dependences.

    ``independent`` (neither depends), ``kept`` (both depend, the port at least half as
    much), ``weak`` (the port keeps 10-50 % of the reference's dependence), ``lost`` (the
    reference depends, the port does not), ``appears`` (the port depends where the reference
    does not), ``shape`` (the tensor's shape changes with the condition on some side).
    """
    if ref is None or port is None:
        return "shape"
    if ref < LIVE:
        return "appears" if port >= LIVE and ref < INDEPENDENT else "independent"
    ratio = port / ref
    if ratio < LOST_RATIO:
        return "lost"
    return "weak" if ratio < WEAK_RATIO else "kept"
