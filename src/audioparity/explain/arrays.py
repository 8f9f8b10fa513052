"""Array helpers shared by the signatures: deterministic subsampling, crops along an axis,
error measures and the noise floors that decide "exact" versus "different".

Every signature works on at most :data:`SAMPLE_LIMIT` elements: flat strided samples for
elementwise fits, crops of the other axes for fits along one axis. Both are deterministic.
"""

from __future__ import annotations

import numpy as np

#: Elements a signature looks at, at most (bigger pairs are subsampled deterministically).
SAMPLE_LIMIT = 1 << 18
#: Relative L2 error up to which two float tensors count as equal (f32 reordering noise).
PARITY_REL_L2 = 5e-5
#: Max abs error, relative to the larger max |value|, up to which they count as equal.
PARITY_MAX_REL = 1e-4
#: Relative error below which a signature's fit counts as "explains the difference".
FIT_TOL = 0.05
#: Absolute differences at or below this are noise whatever the values (f32 denormals).
PARITY_ATOL = 1e-30
_TINY = 1e-30


def is_integer(x: np.ndarray) -> bool:
    """True for integer and boolean arrays (codec tokens, ids)."""
    return x.dtype.kind in "iub"


def flat(x: np.ndarray) -> np.ndarray:
    """A flat view (a copy only when ``x`` is not contiguous)."""
    return np.asarray(x).reshape(-1)


def sample_index(size: int, limit: int = SAMPLE_LIMIT) -> slice:
    """A deterministic strided slice taking at most ``limit`` of ``size`` flat elements."""
    if size <= limit:
        return slice(None)
    step = -(-size // limit)
    return slice(0, size, step)


def paired_sample(ref: np.ndarray, port: np.ndarray, limit: int = SAMPLE_LIMIT
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The same deterministic flat sample of two equal-size arrays, as float64."""
    idx = sample_index(ref.size, limit)
    return (flat(ref)[idx].astype(np.float64), flat(port)[idx].astype(np.float64))


def axis_step(length: int, limit: int = SAMPLE_LIMIT) -> int:
    """Stride that keeps at most ``limit`` positions of an axis of ``length``."""
    return max(1, -(-length // limit))


def crop_around(x: np.ndarray, axis: int, limit: int = SAMPLE_LIMIT,
                max_len: int | None = None) -> np.ndarray:
    """``x`` as float64 with the other axes cut to their first entries so that at most
    ``limit`` elements remain. ``axis`` itself is cut to its first ``max_len`` positions when
    given; an axis still longer than ``limit`` is strided by :func:`axis_step`."""
    axis = axis % x.ndim
    length = x.shape[axis] if max_len is None else min(x.shape[axis], max_len)
    step = axis_step(length, limit)
    kept = -(-length // step)
    budget = max(1, limit // max(1, kept))
    index: list[slice] = []
    for ax, n in enumerate(x.shape):
        if ax == axis:
            index.append(slice(0, length, step))
        else:
            keep = min(n, budget)
            budget = max(1, budget // max(1, keep))
            index.append(slice(0, keep))
    return np.asarray(x[tuple(index)], dtype=np.float64)


def rows_along(x: np.ndarray, axis: int) -> np.ndarray:
    """2-D view ``[length(axis), rest]`` with ``axis`` first."""
    moved = np.moveaxis(x, axis, 0)
    return moved.reshape(moved.shape[0], -1)


def norm(x: np.ndarray) -> float:
    return float(np.sqrt(np.sum(np.square(x, dtype=np.float64))))


def rel_l2(ref: np.ndarray, port: np.ndarray) -> float:
    """``||port - ref|| / ||ref||`` (against ``||port||`` when ref is all zero)."""
    den = max(norm(ref), _TINY) if np.any(ref) else max(norm(port), _TINY)
    return norm(port - ref) / den


def residual(target: np.ndarray, model: np.ndarray) -> float:
    """How much of ``target`` a model leaves unexplained: ``||target - model|| / ||model||``."""
    return norm(target - model) / max(norm(model), norm(target) * 1e-12, _TINY)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    den = norm(a) * norm(b)
    return float(np.dot(a.ravel(), b.ravel()) / den) if den > 0 else 0.0


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation (0 when either side is constant)."""
    a = a.ravel() - a.mean()
    b = b.ravel() - b.mean()
    return cosine(a, b)


def clearly_different(ref: np.ndarray, port: np.ndarray) -> bool:
    """True when the pair is beyond f32 reordering noise (the parity gate, on a sample)."""
    err = rel_l2(ref, port)
    scale = max(float(np.max(np.abs(ref), initial=0.0)), float(np.max(np.abs(port), initial=0.0)))
    max_abs = float(np.max(np.abs(port - ref), initial=0.0))
    if max_abs <= PARITY_ATOL:
        return False
    return err > PARITY_REL_L2 or max_abs > PARITY_MAX_REL * scale


def fit_tol(base: float) -> float:
    """Largest residual a fit may leave and still explain a difference of relative size
    ``base``: :data:`FIT_TOL`, and at most a quarter of the difference itself."""
    return min(FIT_TOL, 0.25 * base)


def fit_quality(res: float, tol: float = FIT_TOL) -> float:
    """Map a residual to 0..1: 1 for an exact fit, 0 at ``tol`` and beyond."""
    return float(np.clip(1.0 - res / tol, 0.0, 1.0)) ** 0.5


def axis_name(ndim: int, axis: int) -> str:
    """A readable axis label, ``axis 2 (last)``."""
    axis = axis % ndim
    return f"axis {axis} (last)" if axis == ndim - 1 and ndim > 1 else f"axis {axis}"


def fmt(x: float) -> str:
    """Compact number for detail lines."""
    if x == 0:
        return "0"
    if not np.isfinite(x):
        return str(x)
    ax = abs(x)
    if 1e-3 <= ax < 1e4:
        return f"{x:.4g}"
    return f"{x:.3g}"


def on_bf16_grid(x: np.ndarray) -> bool:
    """True when every value (of a flat sample) is exactly representable in bfloat16."""
    x32 = np.ascontiguousarray(flat(x)[sample_index(x.size)], dtype=np.float32)
    return bool(np.all((x32.view(np.uint32) & 0xFFFF) == 0))


def spectral_flatness(x: np.ndarray) -> float | None:
    """Spectral flatness (geometric / arithmetic mean of the power spectrum, 0..1) of the
    rows along the last axis, power averaged over rows; None for axes shorter than 16.
    1 is white noise, near 0 a tonal or smooth signal."""
    if x.ndim == 0 or x.shape[-1] < 16:
        return None
    rows = np.asarray(x, dtype=np.float64).reshape(-1, x.shape[-1])
    power = np.mean(np.abs(np.fft.rfft(rows - rows.mean(axis=1, keepdims=True), axis=1)) ** 2,
                    axis=0)[1:]
    if not np.any(power > 0):
        return None
    power = np.maximum(power, 1e-300)
    return float(np.exp(np.mean(np.log(power))) / np.mean(power))


def position_error(ref: np.ndarray, port: np.ndarray, axis: int) -> tuple[np.ndarray, int]:
    """Per-position error along ``axis``: ``||(port-ref)[t]|| / rms_t ||ref[t]||``, on the
    positions ``0, step, 2·step …`` that :func:`crop_around` keeps; returns it and ``step``."""
    r = rows_along(crop_around(ref, axis), axis)
    p = rows_along(crop_around(port, axis), axis)
    err = np.sqrt(np.sum((p - r) ** 2, axis=1))
    scale = np.sqrt(np.mean(np.sum(r * r, axis=1)))
    if scale == 0:
        scale = max(float(np.sqrt(np.mean(np.sum(p * p, axis=1)))), _TINY)
    return err / scale, axis_step(ref.shape[axis])
