"""Per-pair error metrics over small chunks, every statistic of a chunk taken while it is hot.

Chunks are small (32 Ki elements) so that the difference and its absolute value stay in the
CPU cache: a pair costs about one read of both tensors — what a bare ``abs(ref - port).max()``
costs — and memory-mapped inputs are read piece by piece, never widened whole. Float32 and
float16 pairs are measured in float32 (dot products per chunk, summed across chunks in
float64: relative error ~1e-7, far below what the reports print); anything else in float64.
Large pairs are split between threads (NumPy releases the GIL).
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from functools import cache

import numpy as np

#: elements per chunk: small enough that a chunk's temporaries stay in L2 cache
CHUNK_ELEMENTS = 1 << 15
#: pairs smaller than this are measured on the calling thread
PARALLEL_MIN_ELEMENTS = 1 << 20
_FLOAT32_OK = (np.dtype(np.float32), np.dtype(np.float16))


@dataclass(frozen=True)
class PairMetrics:
    """Error statistics of ``port`` against ``ref`` (same shape).

    ``rel_l2`` is ``‖port − ref‖₂ / ‖ref‖₂``; ``snr_db`` is ``10·log10(‖ref‖² / ‖port − ref‖²)``
    (``inf`` when identical); ``cosine`` is over the flattened tensors. Non-finite values
    are left out of the sums and counted: ``nonfinite_mismatch`` counts positions where the
    two sides are not the same non-finite value.
    """

    max_abs: float
    mean_abs: float
    rel_l2: float
    cosine: float
    snr_db: float
    ref_absmax: float
    ref_nan: int
    ref_inf: int
    port_nan: int
    port_inf: int
    nonfinite_mismatch: int
    numel: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass
class _Sums:
    """Running sums over some chunks; merged across threads."""

    max_abs: float = 0.0
    sum_abs: float = 0.0
    dd: float = 0.0
    rr: float = 0.0
    pp: float = 0.0
    rp: float = 0.0
    absmax: float = 0.0
    r_nan: int = 0
    r_inf: int = 0
    p_nan: int = 0
    p_inf: int = 0
    mismatch: int = 0

    def merge(self, other: _Sums) -> None:
        for key, value in asdict(other).items():
            if key in ("max_abs", "absmax"):
                setattr(self, key, max(getattr(self, key), value))
            else:
                setattr(self, key, getattr(self, key) + value)


def _finite_sums(r: np.ndarray, p: np.ndarray) -> tuple[float, ...]:
    """(max|d|, sum|d|, d.d, r.r, p.p, max|r|, r.p) of one chunk; NaN/Inf propagate."""
    d = p - r
    ad = np.abs(d)
    # np.dot on a chunk this small stays single-threaded in BLAS, and is the fastest and
    # most accurate float32 dot NumPy has (einsum accumulates less carefully)
    return (float(ad.max()), float(ad.sum()), float(np.dot(d, d)), float(np.dot(r, r)),
            float(np.dot(p, p)), max(float(r.max()), -float(r.min())), float(np.dot(r, p)))


def _nonfinite_sums(r: np.ndarray, p: np.ndarray, sums: _Sums) -> None:
    """Count NaN/Inf on each side, then measure the positions finite on both."""
    rf, pf = np.isfinite(r), np.isfinite(p)
    r_nan, p_nan = np.isnan(r), np.isnan(p)
    sums.r_nan += int(r_nan.sum())
    sums.r_inf += int((~rf & ~r_nan).sum())
    sums.p_nan += int(p_nan.sum())
    sums.p_inf += int((~pf & ~p_nan).sum())
    same_inf = np.isinf(r) & (r == p)
    sums.mismatch += int((~(rf & pf) & ~(r_nan & p_nan) & ~same_inf).sum())
    keep = rf & pf
    if keep.any():
        _add(sums, _finite_sums(r[keep], p[keep]))


def _add(sums: _Sums, part: tuple[float, ...]) -> None:
    max_abs, sum_abs, dd, rr, pp, absmax, rp = part
    sums.max_abs = max(sums.max_abs, max_abs)
    sums.absmax = max(sums.absmax, absmax)
    sums.sum_abs += sum_abs
    sums.dd += dd
    sums.rr += rr
    sums.pp += pp
    sums.rp += rp


def _chunk_sums(r_flat: np.ndarray, p_flat: np.ndarray, start: int, stop: int,
                chunk: int) -> _Sums:
    same_kind = r_flat.dtype in _FLOAT32_OK and p_flat.dtype in _FLOAT32_OK
    work = np.float32 if same_kind else np.float64
    sums = _Sums()
    for lo in range(start, stop, chunk):
        r = np.asarray(r_flat[lo:min(lo + chunk, stop)], dtype=work)
        p = np.asarray(p_flat[lo:min(lo + chunk, stop)], dtype=work)
        with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: handled below
            part = _finite_sums(r, p)
        # NaN/Inf anywhere in the chunk reaches these (max and dot propagate NaN and Inf)
        if math.isfinite(part[0]) and math.isfinite(part[4]) and math.isfinite(part[5]):
            _add(sums, part)
        else:
            _nonfinite_sums(r.astype(np.float64), p.astype(np.float64), sums)
    return sums


@cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=_workers(), thread_name_prefix="audioparity-metrics")


def _workers() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def pair_metrics(ref: np.ndarray, port: np.ndarray, chunk: int = CHUNK_ELEMENTS) -> PairMetrics:
    """Compare two arrays of equal shape; see :class:`PairMetrics`."""
    if ref.shape != port.shape:
        raise ValueError(f"shape {ref.shape} vs {port.shape}")
    r_flat, p_flat = ref.reshape(-1), port.reshape(-1)
    n = r_flat.size
    workers = _workers() if n >= PARALLEL_MIN_ELEMENTS else 1
    if workers == 1:
        s = _chunk_sums(r_flat, p_flat, 0, n, chunk)
    else:
        # split on chunk boundaries so every thread sees whole chunks
        per = -(-n // (workers * chunk)) * chunk
        jobs = [_pool().submit(_chunk_sums, r_flat, p_flat, lo, min(lo + per, n), chunk)
                for lo in range(0, n, per)]
        s = _Sums()
        for job in jobs:
            s.merge(job.result())
    finite_n = max(n - max(s.r_nan + s.r_inf, s.p_nan + s.p_inf), 1)
    if s.rr > 0:
        rel_l2 = math.sqrt(s.dd / s.rr)
    else:
        rel_l2 = 0.0 if s.dd == 0 else math.inf
    if s.dd == 0:
        snr = math.inf
    elif s.rr == 0:
        snr = -math.inf
    else:
        snr = 10 * math.log10(s.rr / s.dd)
    if s.rr > 0 and s.pp > 0:
        nr, np_ = math.sqrt(s.rr), math.sqrt(s.pp)
        if s.dd < 1e-2 * (s.rr + s.pp):
            # near-identical: from |p - r|^2 = rr + pp - 2 r.p, 1 - cos = (dd - (|r| - |p|)^2)
            # / (2 |r| |p|); dd is summed from the differences themselves, so a tiny 1 - cos
            # is not lost in the rounding of r.p
            cosine = 1.0 - (s.dd - ((s.rr - s.pp) / (nr + np_)) ** 2) / (2 * nr * np_)
        else:
            cosine = s.rp / (nr * np_)
    else:
        cosine = 1.0 if s.rr == s.pp else 0.0
    return PairMetrics(s.max_abs, s.sum_abs / finite_n, rel_l2, float(np.clip(cosine, -1, 1)),
                       snr, s.absmax, s.r_nan, s.r_inf, s.p_nan, s.p_inf, s.mismatch, n)
