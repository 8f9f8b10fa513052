"""Magnitude and phase errors of a complex pair (an STFT spectrum, a codec's spectrogram).

Traces store a complex tensor as its real ``[..., 2]`` view (the last axis is real, imag);
the captures name such tensors in the trace meta's ``complex`` list. Measured as a real
tensor, a conjugated spectrum looks like any other error; split into magnitude and phase it
says which half is wrong. The pair is walked in small chunks (one read of both tensors),
each chunk widened to complex128 while it is hot, never the whole tensor.

Example
-------
>>> import numpy as np
>>> z = np.exp(1j * np.linspace(0.3, 2.0, 64)).reshape(4, 16)
>>> view = lambda c: np.stack([c.real, c.imag], axis=-1)
>>> m = complex_metrics(view(z), view(0.5 * z))
>>> round(m.magnitude_scale, 3), round(m.phase_mean_rad, 3)
(0.5, 0.0)
>>> m.reading()
'phase matches (mean 0.00 rad) but the magnitude is off by ×0.5 (magnitude rel err 0.5): a gain, window-normalisation or scale bug'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..trace import Trace

#: complex elements per chunk (a chunk's complex128 temporaries stay in L2 cache)
CHUNK_COMPLEX = 1 << 14
#: a bin whose phase differs by more than this (radians) counts as phase-wrong
PHASE_OFF_RAD = math.pi / 8
#: share of the difference energy that makes one half (magnitude or phase) "the" error
DOMINANT_SHARE = 0.9
#: a port within this relative L2 of the reference's conjugate is the conjugate
CONJUGATE_REL = 1e-3
#: a per-bin phase difference this close (rms radians) to a line is a linear phase ramp
RAMP_RESIDUAL_RAD = 0.1
#: the longest axis searched for a ramp (an n_fft = 32768 STFT's bins; frames beyond)
RAMP_AXIS_MAX = 16385
#: the smallest phase (radians) a ramp must turn across its axis to be named
RAMP_SPAN_RAD = 0.5


@dataclass(frozen=True)
class PhaseRamp:
    """A phase difference linear along one complex axis: ``slope_rad`` radians per index.

    Along the frequency axis of a onesided STFT (``n_fft = 2 (L - 1)`` for an axis of length
    ``L``) a ramp is a time shift of ``shift_samples`` (positive: the port is later).
    """

    axis: int  # axis of the complex tensor (the real view without its last axis)
    slope_rad: float
    residual_rad: float
    shift_samples: float


@dataclass(frozen=True)
class ComplexMetrics:
    """Errors of a complex ``port`` against ``ref`` (finite bins only).

    ``magnitude_rel_l2``: ``‖|p| − |r|‖₂ / ‖r‖₂``; ``magnitude_scale``: the least-squares
    gain ``Σ|p||r| / Σ|r|²``; ``phase_mean_rad``: mean ``|∠(p r̄)|`` weighted by ``|r|``
    (radians, 0…π); ``phase_off_energy``: share of the reference's energy in bins whose
    phase differs by more than :data:`PHASE_OFF_RAD`; ``phase_share``: share of the squared
    difference ``‖p − r‖²`` that is not magnitude error; ``conjugate_rel_l2``:
    ``‖p − r̄‖₂ / ‖r‖₂``; ``ramp``: a linear phase ramp along one axis, or None.
    """

    magnitude_rel_l2: float
    magnitude_scale: float
    phase_mean_rad: float
    phase_off_energy: float
    phase_share: float
    conjugate_rel_l2: float
    ramp: PhaseRamp | None
    numel: int

    def reading(self) -> str:
        """One line: which half of the complex pair is wrong, and what that points to."""
        if self.magnitude_rel_l2 == 0 and self.phase_mean_rad == 0:  # exact: identical
            return "magnitude and phase match"
        mag = f"magnitude rel err {self.magnitude_rel_l2:.2g}"
        phase = (f"mean {self.phase_mean_rad:.2f} rad, {self.phase_off_energy:.0%} of the "
                 f"energy off by more than π/8")
        if self.phase_share >= DOMINANT_SHARE:
            head = f"magnitude matches ({mag}) but the phase differs ({phase})"
            if self.conjugate_rel_l2 <= CONJUGATE_REL:
                return (f"{head}: the port is the complex conjugate of the reference "
                        f"(rel err {self.conjugate_rel_l2:.2g}), an imaginary-part sign or "
                        "conjugation bug")
            if self.ramp is not None:
                r = self.ramp
                return (f"{head}: a linear phase ramp along axis {r.axis} "
                        f"({r.slope_rad:.3g} rad per index), a time shift (as onesided STFT "
                        f"bins: {r.shift_samples:+.2g} samples, positive = port later)")
            return f"{head}: a phase, sign, conjugation or time-shift bug"
        if self.phase_share <= 1 - DOMINANT_SHARE:
            return (f"phase matches (mean {self.phase_mean_rad:.2f} rad) but the magnitude is "
                    f"off by ×{self.magnitude_scale:.3g} ({mag}): a gain, "
                    "window-normalisation or scale bug")
        return (f"both differ: magnitude ×{self.magnitude_scale:.3g} ({mag}), phase "
                f"({phase})")

    def to_json(self, with_reading: bool) -> dict[str, Any]:
        r = self.ramp
        return {
            "magnitude_rel_l2": self.magnitude_rel_l2, "magnitude_scale": self.magnitude_scale,
            "phase_mean_rad": self.phase_mean_rad, "phase_off_energy": self.phase_off_energy,
            "phase_share": self.phase_share, "conjugate_rel_l2": self.conjugate_rel_l2,
            "ramp": None if r is None else {"axis": r.axis, "slope_rad": r.slope_rad,
                                            "residual_rad": r.residual_rad,
                                            "shift_samples": r.shift_samples},
            "reading": self.reading() if with_reading else None,
        }


def is_complex(trace: Trace, name: str) -> bool:
    """Whether ``name`` is a complex tensor stored as its real ``[..., 2]`` view: a complex
    dtype in the file, or named in the trace meta's ``complex`` list (the captures)."""
    info = trace.info(name)
    if info.shape[-1:] != (2,):
        return False
    listed = trace.meta.get("complex") if isinstance(trace.meta, dict) else None
    return info.from_complex is not None or (isinstance(listed, list) and name in listed)


def complex_metrics(ref: np.ndarray, port: np.ndarray,
                    chunk: int = CHUNK_COMPLEX) -> ComplexMetrics:
    """Magnitude/phase errors of two real ``[..., 2]`` views of equal shape; see
    :class:`ComplexMetrics`."""
    if ref.shape != port.shape or ref.shape[-1:] != (2,):
        raise ValueError(f"not a pair of complex views: {ref.shape} vs {port.shape}")
    shape = ref.shape[:-1]
    r2, p2 = ref.reshape(-1, 2), port.reshape(-1, 2)
    n = r2.shape[0]
    # per-index cross spectra along the last two complex axes (a ramp is sought in each)
    axes = [a for a in range(max(len(shape) - 2, 0), len(shape))
            if 4 <= shape[a] <= RAMP_AXIS_MAX]
    strides = {a: math.prod(shape[a + 1:]) for a in axes}
    cross_by_axis = {a: np.zeros(shape[a], np.complex128) for a in axes}
    rr = mm = gain = weight = phase = off = dd = conj_dd = 0.0
    for lo in range(0, n, chunk):
        rc = _as_complex(r2[lo:lo + chunk])
        pc = _as_complex(p2[lo:lo + chunk])
        index = np.arange(lo, lo + rc.size)
        keep = np.isfinite(rc) & np.isfinite(pc)
        if not keep.all():
            rc, pc, index = rc[keep], pc[keep], index[keep]
        ar, ap = np.abs(rc), np.abs(pc)
        cross = pc * np.conj(rc)
        dphi = np.abs(np.angle(cross))
        dm, d, dc = ap - ar, pc - rc, pc - np.conj(rc)
        rr += _dot(ar, ar)
        mm += _dot(dm, dm)
        gain += _dot(ar, ap)
        weight += float(ar.sum())
        phase += _dot(ar, dphi)
        off += float(np.square(ar[dphi > PHASE_OFF_RAD]).sum())
        dd += _dot(d.view(np.float64), d.view(np.float64))  # |d|² summed as re² + im²
        conj_dd += _dot(dc.view(np.float64), dc.view(np.float64))
        for a in axes:
            bins = (index // strides[a]) % shape[a]
            cross_by_axis[a] += (np.bincount(bins, cross.real, shape[a])
                                 + 1j * np.bincount(bins, cross.imag, shape[a]))
    rel = (lambda x: math.sqrt(x / rr)) if rr > 0 else (lambda x: 0.0 if x == 0 else math.inf)
    phase_mean = phase / weight if weight > 0 else 0.0
    ramps = [r for r in (_ramp(a, s) for a, s in cross_by_axis.items()) if r is not None]
    return ComplexMetrics(
        magnitude_rel_l2=rel(mm), magnitude_scale=gain / rr if rr > 0 else (1.0 if mm == 0 else math.inf),
        phase_mean_rad=phase_mean, phase_off_energy=off / rr if rr > 0 else 0.0,
        phase_share=max(0.0, (dd - mm) / dd) if dd > 0 else 0.0,
        conjugate_rel_l2=rel(conj_dd),
        ramp=min(ramps, key=lambda r: r.residual_rad) if ramps else None, numel=n)


def _dot(x: np.ndarray, y: np.ndarray) -> float:
    """``x · y`` of two float64 vectors; einsum, not BLAS: a BLAS dot per small chunk may
    wake a thread pool each call (seconds over a large tensor on a busy machine)."""
    return float(np.einsum("i,i->", x, y))


def _as_complex(pairs: np.ndarray) -> np.ndarray:
    """``(n, 2)`` real/imag rows as complex128."""
    rows = np.asarray(pairs, dtype=np.float64)
    return rows[:, 0] + 1j * rows[:, 1]


def _ramp(axis: int, cross: np.ndarray) -> PhaseRamp | None:
    """A line through the phase of the per-index cross spectrum ``Σ p r̄`` along ``axis``
    (weighted by its magnitude), when it fits, starts at 0 and turns far enough."""
    w = np.abs(cross)
    keep = w > 1e-9 * w.max() if w.max() > 0 else np.zeros_like(w, bool)
    if keep.sum() < 4:
        return None
    k = np.flatnonzero(keep).astype(np.float64)
    phi = np.unwrap(np.angle(cross[keep]))
    slope, intercept = np.polyfit(k, phi, 1, w=np.sqrt(w[keep]))
    residual = math.sqrt(float(np.average((phi - slope * k - intercept) ** 2, weights=w[keep])))
    if residual > RAMP_RESIDUAL_RAD or abs(slope) * (cross.size - 1) < RAMP_SPAN_RAD \
            or abs(intercept) > RAMP_RESIDUAL_RAD:
        return None
    n_fft = 2 * (cross.size - 1)
    return PhaseRamp(axis, float(slope), residual, float(-slope * n_fft / (2 * math.pi)))
