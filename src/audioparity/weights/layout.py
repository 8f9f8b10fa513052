"""Axis layouts judged by values: which permutation of the port tensor equals the reference.

Converters (mlx-audio's ``check_array_shape`` among them) guess "already converted" from
shapes; small or square configs fool such a guess (a Conv1d with ``in == kernel_size``, a
square Linear, ``kernel_size=1``). Here every axis permutation whose shape fits is tried on a
deterministic sample of elements, and the one whose *values* match wins.

Convention: ``perm`` is the permutation with ``port == ref.transpose(perm)``; identity means
"same layout as the reference".
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

#: Elements compared per candidate permutation (the whole tensor when smaller).
SAMPLE_SIZE = 4096
#: Elements per chunk when the whole tensor is compared (bounds memory on big tensors).
CHUNK_ELEMS = 1 << 22
_MAX_NDIM = 6

_NAMED = {
    (0, 2, 1): "[out,k,in] (MLX Conv1d)",
    (1, 2, 0): "[out,k,in] from [in,out,k] (MLX ConvTranspose1d)",
    (0, 2, 3, 1): "[out,kh,kw,in] (MLX Conv2d)",
    (1, 2, 3, 0): "[out,kh,kw,in] from [in,out,kh,kw] (MLX ConvTranspose2d)",
    (1, 0): "transposed [in,out]",
}


@dataclass
class LayoutResult:
    """What the values say about a port tensor's layout.

    Attributes
    ----------
    perm : tuple[int, ...] | None
        ``port == ref.transpose(perm)``; None when no fitting permutation matched.
    fitting : int
        How many permutations fit the shapes (more than one: ambiguous by shape).
    sample_rel : float
        Relative L2 error of the winning permutation on the sample.
    reshaped : bool
        True when no permutation fits the shapes and the port is the reference reshaped
        (same element order, other shape).
    runner_up_rel : float | None
        Sample error of the best other fitting permutation.
    """

    perm: tuple[int, ...] | None
    fitting: int
    sample_rel: float
    reshaped: bool = False
    runner_up_rel: float | None = None
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def ambiguous_by_shape(self) -> bool:
        return self.fitting > 1

    @property
    def ambiguous_by_values(self) -> bool:
        """Several fitting permutations match equally well (e.g. a constant tensor)."""
        return (self.runner_up_rel is not None
                and self.runner_up_rel <= max(2 * self.sample_rel, 1e-6))

    @property
    def is_identity(self) -> bool:
        return self.perm is not None and self.perm == tuple(range(len(self.perm)))


def describe(perm: tuple[int, ...] | None) -> str:
    """A readable name for a layout permutation."""
    if perm is None:
        return "no axis permutation"
    if perm == tuple(range(len(perm))):
        return "as reference"
    return _NAMED.get(tuple(perm), f"axes permuted {tuple(perm)}")


def fitting_perms(ref_shape: tuple[int, ...], port_shape: tuple[int, ...]) -> list[tuple]:
    """Permutations ``perm`` with ``ref_shape[perm[i]] == port_shape[i]``, identity first.

    Permutations that differ only in where size-1 axes go give the same element order;
    only the first of each such set is kept (a weight-norm ``g`` of shape ``[out,1,1]``
    has one layout, not two).
    """
    if len(ref_shape) != len(port_shape) or len(ref_shape) > _MAX_NDIM:
        return []
    seen = set()
    perms = []
    for perm in itertools.permutations(range(len(ref_shape))):
        if all(ref_shape[perm[i]] == port_shape[i] for i in range(len(perm))):
            key = tuple(a for a in perm if ref_shape[a] != 1)
            if key not in seen:
                seen.add(key)
                perms.append(perm)
    return perms


def to_ref_layout(port: np.ndarray, perm: tuple[int, ...] | None) -> np.ndarray:
    """The port tensor in the reference's layout (a view where possible)."""
    if perm is None:
        return port
    return np.transpose(port, np.argsort(perm))


def _sample_index(shape: tuple[int, ...], seed: int = 0) -> tuple[np.ndarray, ...]:
    numel = int(np.prod(shape, dtype=np.int64))
    if numel <= SAMPLE_SIZE:
        flat = np.arange(numel)
    else:
        flat = np.unique(np.random.default_rng(seed).integers(0, numel, SAMPLE_SIZE))
    return np.unravel_index(flat, shape)


def _rel(r: np.ndarray, p: np.ndarray) -> float:
    r = r.astype(np.float64)
    p = p.astype(np.float64)
    denom = float(np.linalg.norm(r))
    err = float(np.linalg.norm(p - r))
    if not np.isfinite(err):
        return float("inf")
    return err / denom if denom > 0 else err


def detect_layout(ref: np.ndarray, port: np.ndarray) -> LayoutResult:
    """Find the permutation of ``port`` whose values equal ``ref`` (sampled, deterministic).

    Parameters
    ----------
    ref, port : ndarray
        Tensors with the same element count (memory maps are fine: only a sample is read).
    """
    perms = fitting_perms(ref.shape, port.shape)
    ref_idx = _sample_index(ref.shape)
    r = np.asarray(ref[ref_idx])
    if not perms:
        flat = np.ravel_multi_index(ref_idx, ref.shape) if ref.ndim else np.zeros(1, int)
        p = np.asarray(port.reshape(-1)[flat]) if port.size == ref.size else None
        rel = _rel(r.reshape(-1), p) if p is not None else float("inf")
        return LayoutResult(None, 0, rel, reshaped=p is not None)
    scores = []
    for perm in perms:
        p = np.asarray(port[tuple(ref_idx[perm[i]] for i in range(len(perm)))])
        scores.append(_rel(r, p))
    order = np.argsort(scores, kind="stable")
    best = perms[order[0]]
    runner = float(scores[order[1]]) if len(perms) > 1 else None
    return LayoutResult(best, len(perms), float(scores[order[0]]), runner_up_rel=runner,
                        scores={str(p): float(s) for p, s in zip(perms, scores)})


@dataclass
class TensorError:
    """Whole-tensor error of a port tensor (already in reference layout) against the ref."""

    max_abs: float
    rel_l2: float
    ref_rms: float
    port_rms: float
    ref_nonfinite: int = 0
    port_nonfinite: int = 0


def value_error(ref: np.ndarray, port: np.ndarray) -> TensorError:
    """Max abs and relative L2 error over the whole tensor, chunked along axis 0, and the
    NaN/Inf count of each side.

    Both arrays have the reference's shape; memory holds one chunk of each at a time.
    """
    if ref.shape != port.shape:
        raise ValueError(f"shapes differ: {ref.shape} vs {port.shape}")
    max_abs = 0.0
    sq_err = sq_ref = sq_port = 0.0
    bad_ref = bad_port = 0
    rows = ref.shape[0] if ref.ndim else 1
    per_row = max(1, ref.size // max(rows, 1))
    step = max(1, CHUNK_ELEMS // per_row)
    for start in range(0, rows, step):
        r = np.asarray(ref[start:start + step] if ref.ndim else ref, dtype=np.float64)
        p = np.asarray(port[start:start + step] if port.ndim else port, dtype=np.float64)
        bad_ref += int(r.size - np.count_nonzero(np.isfinite(r)))
        bad_port += int(p.size - np.count_nonzero(np.isfinite(p)))
        d = p - r
        if d.size:
            max_abs = max(max_abs, float(np.max(np.abs(d))))
        sq_err += float(np.sum(d * d))
        sq_ref += float(np.sum(r * r))
        sq_port += float(np.sum(p * p))
    n = max(ref.size, 1)
    rel = np.sqrt(sq_err / sq_ref) if sq_ref > 0 else np.sqrt(sq_err)
    if not np.isfinite(sq_err):
        max_abs, rel = float("inf"), float("inf")
    return TensorError(max_abs, float(rel), float(np.sqrt(sq_ref / n)),
                       float(np.sqrt(sq_port / n)), bad_ref, bad_port)
