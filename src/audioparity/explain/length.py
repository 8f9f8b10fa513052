"""``length`` (an extension of SPEC's vocabulary): the pair differs in length along one axis
and the overlap matches — the port has extra or missing positions at the end, at the start or
on both sides (a centred trim), and says whether the extra ones are zeros (padding).

Seed 001: a causal transposed conv that trims the wrong number of samples, and the usual
neighbours: a ``ConvTranspose1d`` with another ``output_padding`` (one extra sample at the end:
``[1, 32, 513]`` vs ``[1, 32, 512]``) or ``padding`` (a centred trim), a conv with ``padding``
``"same"`` vs ``"valid"``, STFT/ISTFT ``center=`` (``n_fft // 2`` on each side), an output cut
to a requested length on one side only. ``params["side"]`` is ``"end"``, ``"start"`` or
``"both"``; ``params["extra"]`` counts the positions the port has beyond the reference's
(negative when it has fewer), ``params["start"]``/``params["end"]`` split them by side.
Lengths that differ by more than half are left alone (an overlap that short proves little).

Example
-------
>>> ref = np.random.default_rng(0).normal(size=(1, 4, 512))
>>> port = np.concatenate([ref, np.ones((1, 4, 1))], axis=-1)
>>> f = match(ref, port, ExplainContext())
>>> f.params["side"], f.params["extra"]
('end', 1)
"""

from __future__ import annotations

import numpy as np

from .arrays import SAMPLE_LIMIT, axis_name, fit_quality, fmt, residual
from .finding import ExplainContext, Finding
from .registry import signature

#: Shortest overlap, as a share of the longer side, that a fit may rest on.
MIN_OVERLAP = 0.5
#: Largest relative residual on the overlap that counts as "matches".
_TOL = 0.02
#: Positions of each end of a long overlap compared (the middle is skipped).
_WINDOW = 1 << 14
#: Extra positions count as zero padding when at most this share of the values' scale.
_ZERO = 1e-6


def differing_axis(ref: np.ndarray, port: np.ndarray) -> int | None:
    """The one axis along which the shapes differ, or None (same shape, several axes, ndim)."""
    if ref.ndim != port.ndim:
        return None
    axes = [a for a in range(ref.ndim) if ref.shape[a] != port.shape[a]]
    return axes[0] if len(axes) == 1 else None


def _rows(x: np.ndarray, axis: int, length: int) -> np.ndarray:
    """``[rows, length(axis)]`` as float64, the other axes cut to their first entries so
    that two windows of the axis stay within the sample budget."""
    moved = np.moveaxis(x, axis, -1)
    budget = max(1, SAMPLE_LIMIT // max(1, 2 * min(length, _WINDOW)))
    index: list[slice] = []
    for n in moved.shape[:-1]:
        keep = min(n, budget)
        budget = max(1, budget // max(1, keep))
        index.append(slice(0, keep))
    return moved[tuple(index)].reshape(-1, moved.shape[-1])


def _windows(a: np.ndarray, b: np.ndarray, a0: int, b0: int, n: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """``a[:, a0:a0+n]`` and ``b[:, b0:b0+n]``, reduced to their first and last windows."""
    if n <= 2 * _WINDOW:
        spans = [(0, n)]
    else:
        spans = [(0, _WINDOW), (n - _WINDOW, n)]
    ra = np.concatenate([a[:, a0 + s:a0 + e] for s, e in spans], axis=1)
    rb = np.concatenate([b[:, b0 + s:b0 + e] for s, e in spans], axis=1)
    return np.asarray(ra, dtype=np.float64), np.asarray(rb, dtype=np.float64)


def _candidates(extra: int) -> list[int]:
    """Offsets ``s`` of the shorter side inside the longer one: start-aligned (extra at the
    end), end-aligned (extra at the start), centred (both sides, either rounding)."""
    d = abs(extra)
    return sorted({0, d, d // 2, d - d // 2})


def _fit(ref: np.ndarray, port: np.ndarray, axis: int) -> dict | None:
    n_r, n_p = ref.shape[axis], port.shape[axis]
    extra = n_p - n_r
    n = min(n_r, n_p)
    longer, shorter = (port, ref) if extra > 0 else (ref, port)
    lo = _rows(longer, axis, n)
    sh = _rows(shorter, axis, n)
    fits = []
    for s in _candidates(extra):
        a, b = _windows(lo, sh, s, 0, n)
        if not np.any(b) and not np.any(a):
            continue
        fits.append((residual(a, b) if extra > 0 else residual(b, a), s))
    if not fits:
        return None
    fits.sort()
    res, s = fits[0]
    runner_up = fits[1][0] if len(fits) > 1 else np.inf
    if res > _TOL or runner_up < max(4 * res, 1e-5):
        return None  # no fit, or two alignments fit alike (a periodic or flat signal)
    left, right = s, abs(extra) - s
    tail = np.concatenate([lo[:, :left], lo[:, lo.shape[1] - right:]], axis=1)
    scale = float(np.max(np.abs(sh[:, : min(n, 2 * _WINDOW)]), initial=0.0))
    zeros = tail.size > 0 and float(np.max(np.abs(tail), initial=0.0)) <= _ZERO * max(scale,
                                                                                   1e-30)
    sign = 1 if extra > 0 else -1
    return {"res": res, "runner_up": runner_up, "start": sign * left, "end": sign * right,
            "extra": extra, "zeros": bool(zeros and extra > 0)}


def _words(side: str, extra: int, fit: dict) -> str:
    count = abs(extra)
    if side == "both":
        where = f"{abs(fit['start'])} at the start and {abs(fit['end'])} at the end"
    else:
        where = f"at the {side}"
    if extra > 0:
        what = "positions of zero padding" if fit["zeros"] else "extra positions"
        return f"the port has {count} {what} {where}"
    return f"the port lacks {count} positions {where}"


_HINT = {
    "end": "one position count differs at the end: a ConvTranspose's output_padding, an "
           "output cut to a requested length on one side only, or the trim of a causal "
           "(trans)conv (ref trims {trim} at the end)",
    "start": "the positions differ at the start: which side a causal (trans)conv trims, a "
             "left pad/crop, or the start index of a slice",
    "both": "a centred trim differs: ConvTranspose/Conv padding ('same' vs 'valid'), or "
            "center= in an STFT/ISTFT (n_fft // 2 on each side)",
}


@signature("length", same_shape=False, dtypes="float")
def match(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Finding | None:
    axis = differing_axis(ref, port)
    if axis is None or ref.dtype.kind != "f" or port.dtype.kind != "f":
        return None
    n_r, n_p = ref.shape[axis], port.shape[axis]
    if min(n_r, n_p) < 2 or min(n_r, n_p) < MIN_OVERLAP * max(n_r, n_p):
        return None
    fit = _fit(ref, port, axis)
    if fit is None:
        return None
    extra = fit["extra"]
    side = "end" if fit["start"] == 0 else "start" if fit["end"] == 0 else "both"
    words = _words(side, extra, fit)
    hint = _HINT[side].format(trim=abs(extra))
    return Finding("length", 0.94 * fit_quality(fit["res"], _TOL),
                   f"lengths differ along {axis_name(ref.ndim, axis)} ({n_r} vs {n_p}) and "
                   f"the overlap matches: {words} (residual {fmt(fit['res'])} on the overlap, "
                   f"{fmt(fit['runner_up'])} for the next alignment)",
                   {"axis": axis, "side": side, "extra": extra, "start": fit["start"],
                    "end": fit["end"], "zero_padding": fit["zeros"], "ref_length": n_r,
                    "port_length": n_p, "residual": fit["res"]}, hint)
