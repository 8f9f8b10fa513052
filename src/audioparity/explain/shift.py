"""``shift``: the port equals the reference shifted along one axis by ``k`` positions.

Seed 000: the Rust ISTFT trimmed ``win_length/2 = 1024`` samples of centre padding instead of
``(win_length - hop)/2 = 768``, so every sample arrived 256 samples early (``k = -256``).
Seed 001: a causal transposed conv trimmed on the left instead of the right (``k = -trim``).
The pair may differ in length along that axis (a different trim also changes the length).
``k > 0`` means the port lags: ``port[t] = ref[t - k]``.

Example
-------
>>> ref = np.random.default_rng(0).normal(size=(1, 8000))
>>> match(ref, np.roll(ref, -256, axis=1), ExplainContext()).params["k"]
-256
"""

from __future__ import annotations

import numpy as np

from .arrays import (
    axis_name,
    clearly_different,
    crop_around,
    fit_quality,
    fmt,
    residual,
    rows_along,
)
from .finding import ExplainContext, Finding
from .registry import signature

_MAX_LEN = 1 << 16   # samples of a long axis used to find the lag
_MAX_LAG = 1 << 14
_MIN_OVERLAP = 0.5


def _candidate_axes(ref: np.ndarray, port: np.ndarray) -> list[int]:
    if ref.ndim != port.ndim:
        return []
    differing = [a for a in range(ref.ndim) if ref.shape[a] != port.shape[a]]
    if len(differing) > 1:
        return []
    if differing:
        return differing
    return [a for a in range(ref.ndim) if ref.shape[a] >= 4]


def _common_crop(ref: np.ndarray, port: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    n = min(ref.shape[axis], port.shape[axis])
    r = crop_around(ref, axis, max_len=min(n, _MAX_LEN) if n > _MAX_LEN else None)
    p = crop_around(port, axis, max_len=r.shape[axis] if n > _MAX_LEN else None)
    # same crop of the other axes on both sides
    shape = [min(a, b) for a, b in zip(r.shape, p.shape)]
    shape[axis] = r.shape[axis]
    r = r[tuple(slice(0, s) for s in shape)]
    shape[axis] = p.shape[axis]
    p = p[tuple(slice(0, s) for s in shape)]
    return rows_along(r, axis).T, rows_along(p, axis).T


def overlap(r: np.ndarray, p: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ref and port aligned for ``port[t] = ref[t - k]`` (last axis)."""
    n_r, n_p = r.shape[-1], p.shape[-1]
    start = max(0, k)
    stop = min(n_p, n_r + k)
    if stop <= start:
        return r[..., :0], p[..., :0]
    return r[..., start - k:stop - k], p[..., start:stop]


def best_lag(r: np.ndarray, p: np.ndarray, max_lag: int) -> list[int]:
    """Lags with the highest cross-correlation (``port[t] ≈ ref[t - k]``), best first."""
    n = 1 << int(np.ceil(np.log2(r.shape[-1] + p.shape[-1])))
    cc = np.fft.irfft(np.conj(np.fft.rfft(r, n)) * np.fft.rfft(p, n), n).sum(axis=0)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    values = cc[lags % n]
    return [int(k) for k in lags[np.argsort(-values)[:5]]]


@signature("shift", same_shape=False)
def match(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Finding | None:
    best: tuple[float, int, int, float] | None = None
    for axis in _candidate_axes(ref, port):
        r, p = _common_crop(ref, port, axis)
        if r.dtype.kind != "f" or not np.any(r):
            continue
        n = min(r.shape[-1], p.shape[-1])
        max_lag = min(_MAX_LAG, int(n * (1 - _MIN_OVERLAP)))
        if max_lag < 1:
            continue
        rc = r - r.mean(axis=-1, keepdims=True)
        pc = p - p.mean(axis=-1, keepdims=True)
        a0, b0 = overlap(r, p, 0)
        if a0.size and r.shape == p.shape and not clearly_different(a0, b0):
            continue
        base = residual(b0, a0) if a0.size else np.inf
        for k in best_lag(rc, pc, max_lag):
            if k == 0:
                continue
            a, b = overlap(r, p, k)
            if a.shape[-1] < _MIN_OVERLAP * n:
                continue
            res = residual(b, a)
            if res < 0.05 and base > 4 * res and (best is None or res < best[0]):
                best = (res, axis, k, base)
    if best is None:
        return None
    res, axis, k, base = best
    where = "lags (starts later)" if k > 0 else "leads (starts earlier)"
    lengths = "" if ref.shape[axis] == port.shape[axis] else \
        f"; lengths {ref.shape[axis]} vs {port.shape[axis]}"
    return Finding("shift", 0.93 * fit_quality(res),
                   f"port = ref shifted by {k} along {axis_name(ref.ndim, axis)}: the port "
                   f"{where} by {abs(k)} positions (residual {fmt(res)} on the overlap, "
                   f"{fmt(base)} unshifted){lengths}",
                   {"axis": axis, "k": k, "residual": res, "unshifted_residual": base},
                   f"the port's padding/trim differs by {abs(k)} samples: check centre padding "
                   "((win-hop)/2 vs win/2 in an ISTFT), which side a causal (trans)conv trims, "
                   "and the start index of a slice")
