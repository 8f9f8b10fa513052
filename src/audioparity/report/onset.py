"""Where in the first divergent tensor the error starts: the numbers behind the heat map.

Pure NumPy on one (reference, port) pair in the reference's layout: the absolute error
reduced to a 2-D map along the tensor's two largest axes (the others reduced by max) and
block-downsampled, one max-error profile per axis with the first position over tolerance
(the onset), and small ref-vs-port excerpts around the first element over tolerance and
around the largest difference. :func:`read_pair` reads the pair from the two traces (only
that pair: the report stays fast on big traces).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: heat map at most this many rows × columns (block max); profiles at most PROFILE_POINTS
HEAT_ROWS, HEAT_COLS, PROFILE_POINTS = 96, 480, 480
#: tensors with more elements are subsampled (every k-th along their largest axis)
MAX_ELEMENTS = 1 << 26
#: values shown either side of an excerpt's centre, along the last non-trivial axis
EXCERPT_HALF = 4


@dataclass
class Profile:
    """Max |port - ref| at each position of one axis (others reduced), downsampled."""

    axis: int
    size: int
    values: np.ndarray  # float64, len <= PROFILE_POINTS; block max
    block: int  # positions per value
    onset: int | None  # first position (original index) over tolerance, None if none


@dataclass
class Excerpt:
    """Values along the last non-trivial axis around one element."""

    title: str
    center: tuple[int, ...]
    axis: int
    rows: list[tuple[tuple[int, ...], float, float, float]]  # index, ref, port, |diff|


@dataclass
class PairView:
    """What the report shows of the first divergent pair."""

    shape: tuple[int, ...]
    limit: float  # the tolerance: atol + rtol * max|ref|
    heat: np.ndarray  # 2-D |diff|, block max (NaN where non-finite)
    heat_axes: tuple[int | None, int | None]  # original axes of heat rows / columns
    heat_blocks: tuple[int, int]
    profiles: list[Profile]
    excerpts: list[Excerpt]
    notes: list[str] = field(default_factory=list)


def _block_max(a: np.ndarray, axis: int, target: int) -> tuple[np.ndarray, int]:
    """Downsample ``a`` along ``axis`` to at most ``target`` positions by block max."""
    n = a.shape[axis]
    block = max(1, -(-n // target))
    if block == 1:
        return a, 1
    pad = (-n) % block
    if pad:
        widths = [(0, 0)] * a.ndim
        widths[axis] = (0, pad)
        a = np.pad(a, widths, constant_values=-np.inf)
    shape = list(a.shape)
    shape[axis:axis + 1] = [shape[axis] // block, block]
    return a.reshape(shape).max(axis=axis + 1), block


def _excerpt(title: str, ref: np.ndarray, port: np.ndarray, flat: int,
             stride: list[int]) -> Excerpt:
    """``ref``/``port`` may be subsampled (``stride`` per axis): indices shown are the
    original tensor's."""
    center = tuple(int(i) for i in np.unravel_index(flat, ref.shape))
    axes = [a for a, s in enumerate(ref.shape) if s > 1]
    axis = axes[-1] if axes else 0
    lo = max(0, center[axis] - EXCERPT_HALF) if ref.ndim else 0
    hi = min(ref.shape[axis], center[axis] + EXCERPT_HALF + 1) if ref.ndim else 1
    rows = []
    for k in range(lo, hi):
        idx = list(center)
        if idx:
            idx[axis] = k
        r, p = float(ref[tuple(idx)]), float(port[tuple(idx)])
        rows.append((_original(idx, stride), r, p, abs(p - r)))
    return Excerpt(title, _original(center, stride), axis, rows)


def _original(index, stride: list[int]) -> tuple[int, ...]:
    return tuple(int(i) * s for i, s in zip(index, stride, strict=True))


def pair_view(ref: np.ndarray, port: np.ndarray, rtol: float, atol: float) -> PairView:
    """The heat map, per-axis profiles and excerpts of one pair of equal shapes.

    ``rtol``/``atol`` are the pair's tolerance as compare applied it:
    an element is over tolerance where ``|port - ref| > atol + rtol * max|ref|``.
    """
    ref = np.asarray(ref)
    port = np.asarray(port)
    if ref.shape != port.shape:
        raise ValueError(f"shapes differ: {ref.shape} vs {port.shape}")
    notes = []
    stride = [1] * ref.ndim  # positions of the original per position kept, per axis
    shape = tuple(ref.shape)
    if ref.size > MAX_ELEMENTS and ref.ndim:
        axis = int(np.argmax(ref.shape))
        k = -(-ref.size // MAX_ELEMENTS)
        index = [slice(None)] * ref.ndim
        index[axis] = slice(None, None, k)
        ref, port = ref[tuple(index)], port[tuple(index)]
        stride[axis] = k
        notes.append(f"tensor subsampled for the picture: every {k}th position along axis "
                     f"{axis}")
    # float32 arithmetic for float32/16 pairs (a picture, not a metric), float64 for float64
    work = np.result_type(ref.dtype, port.dtype, np.float32)
    if not np.issubdtype(work, np.floating):
        work = np.float64
    r = ref.astype(work, copy=False)
    p = port.astype(work, copy=False)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(p - r)
    bad = ~np.isfinite(diff)
    diff_inf = np.where(bad, np.inf, diff)
    finite_ref = np.abs(r[np.isfinite(r)])
    limit = float(atol + rtol * (finite_ref.max() if finite_ref.size else 0.0))
    over = diff_inf > limit
    profiles = []
    for a, size in enumerate(ref.shape):
        if size <= 1:
            continue
        others = tuple(i for i in range(ref.ndim) if i != a)
        prof = diff_inf.max(axis=others) if others else diff_inf
        hits = np.flatnonzero(prof > limit)
        small, block = _block_max(prof, 0, PROFILE_POINTS)
        profiles.append(Profile(a, shape[a], small, block * stride[a],
                                int(hits[0]) * stride[a] if hits.size else None))
    heat, heat_axes, blocks = _heat(diff_inf, ref.shape)
    blocks = tuple(b * (stride[a] if a is not None else 1) for b, a in zip(blocks, heat_axes,
                                                                           strict=True))
    heat = np.where(np.isfinite(heat), heat, np.nan)
    excerpts = []
    if over.any():
        excerpts.append(_excerpt("around the first element over tolerance", ref, port,
                                 int(np.argmax(over.ravel())), stride))
    if diff.size:
        worst = int(np.argmax(diff_inf.ravel()))
        excerpt = _excerpt("around the largest difference", ref, port, worst, stride)
        if not excerpts or excerpts[0].center != excerpt.center:
            excerpts.append(excerpt)
    if bad.any():
        notes.append(f"{int(bad.sum())} elements are NaN/Inf in the difference")
    return PairView(shape, limit, heat, heat_axes, blocks, profiles, excerpts,
                    notes)


def _heat(diff: np.ndarray, shape: tuple[int, ...]):
    """2-D block-max map of ``diff`` along its two largest axes (rows: the earlier axis)."""
    axes = [a for a, s in enumerate(shape) if s > 1]
    if not axes:
        return diff.reshape(1, -1) if diff.size else np.zeros((1, 1)), (None, None), (1, 1)
    if len(axes) == 1:
        line = diff.reshape(-1)
        small, block = _block_max(line, 0, HEAT_COLS)
        return small.reshape(1, -1), (None, axes[0]), (1, block)
    keep = sorted(sorted(axes, key=lambda a: (-shape[a], -a))[:2])
    others = tuple(a for a in range(len(shape)) if a not in keep)
    plane = diff.max(axis=others) if others else diff
    plane, rb = _block_max(plane, 0, HEAT_ROWS)
    plane, cb = _block_max(plane, 1, HEAT_COLS)
    return plane, (keep[0], keep[1]), (rb, cb)


def read_pair(ref_path: str | Path, port_path: str | Path, entry: dict
              ) -> tuple[np.ndarray, np.ndarray]:
    """Read one pair (a compare JSON entry) from the traces, the port in the reference's
    layout (the entry's ``convention`` applied).

    Raises
    ------
    InputError : a trace is missing or unreadable.
    ValueError : the pair cannot be read as equal shapes (a shape mismatch, an unknown
        convention).
    """
    from ..trace import open_trace

    with open_trace(ref_path) as ref_t, open_trace(port_path) as port_t:
        ref_name, port_name = entry["ref_name"], entry["port_name"]
        if ref_name not in ref_t or port_name not in port_t:
            raise ValueError("the traces no longer hold this pair")
        ref = np.array(ref_t.read(ref_name))
        port = np.array(port_t.read(port_name))
    if entry.get("convention"):
        port = _apply_convention(entry["convention"], ref.shape, port)
    if ref.shape != port.shape:
        raise ValueError(f"shapes differ: ref {list(ref.shape)} vs port {list(port.shape)}")
    return ref, port


def _apply_convention(name: str, ref_shape: tuple[int, ...], port: np.ndarray) -> np.ndarray:
    from ..compare.conventions import candidates

    for transform in candidates(tuple(ref_shape), tuple(port.shape)):
        if transform.name == name:
            return transform.apply(port)
    raise ValueError(f"cannot re-read the port tensor as {name}")
