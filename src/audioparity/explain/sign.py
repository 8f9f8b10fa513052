"""``sign``: the port equals the reference negated — wholly, or one half of a last axis of 2.

Typical origin: a subtraction written the other way round (``b - a``), ``rotate_half``
returning ``cat(x2, -x1)``, or a flipped phase in an ISTFT. On a complex tensor stored as its
real ``[..., 2]`` view (``ctx.complex_pair``), a negated imaginary part is the complex
conjugate (``conj()`` forgotten in an inverse, the other sign of ``exp(±iωt)``, ``torch.stft``
against a hand-written DFT) and a negated real part is minus the conjugate. Without the
complex marker the last axis is two channels: one of them negated is a polarity flip of that
channel, never read as a conjugate. A positive gain on top (``1.3 · conj(ref)``) is fitted and
named with it.

Example
-------
>>> ref = np.random.default_rng(0).normal(size=(2, 64))
>>> match(ref, -ref, ExplainContext()).detail
'port = -ref (residual 0 after negating)'
>>> spec = np.random.default_rng(1).normal(size=(33, 8, 2))
>>> conj = spec * np.array([1.0, -1.0])
>>> match(spec, conj, ExplainContext(complex_pair=True)).params
{'c': -1.0, 'residual': 0.0, 'gain': 1.0, 'part': 'imag'}
>>> match(spec, conj, ExplainContext()).params
{'c': -1.0, 'residual': 0.0, 'gain': 1.0, 'part': 'channel', 'axis': -1, 'channel': 1}
"""

from __future__ import annotations

import numpy as np

from .arrays import (
    FIT_TOL,
    SAMPLE_LIMIT,
    clearly_different,
    fit_quality,
    fit_tol,
    fmt,
    paired_sample,
    residual,
    sample_index,
)
from .finding import ExplainContext, Finding
from .registry import signature

#: confidence of a conjugate fit on a pair marked complex (an exact, typed relation)
CONJUGATE_CONFIDENCE = 0.95
#: confidence of one negated channel of an unmarked last axis of 2 (a narrower relation
#: than a whole negation: half the values carry the evidence)
CHANNEL_CONFIDENCE = 0.8
#: a half-negation that also needs a gain (two relations at once) counts this much less
GAINED_CONFIDENCE = 0.95
#: a fitted gain this close to 1 (relative) is no gain
GAIN_EXACT = 1e-4

_HALF_HINT = {
    "imag": "conjugate the port (or drop a stray conj()): check the sign convention of "
            "exp(±iωt) in a hand-written DFT against torch.stft, a conj() forgotten (or "
            "doubled) before an inverse, and irfft/istft fed a conjugated spectrum",
    "real": "the port is −conj(ref): a conjugation and an overall sign flip together — check "
            "the sign convention of exp(±iωt) and a subtraction written the other way round",
}


@signature("sign")
def match(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Finding | None:
    r, p = paired_sample(ref, port)
    if not clearly_different(r, p):
        return None
    res = residual(p, -r)
    if res <= FIT_TOL:
        return Finding("sign", 0.97 * fit_quality(res), f"port = -ref (residual {fmt(res)} "
                       "after negating)", {"c": -1.0, "residual": res},
                       "negate the port here: look for a subtraction written the other way "
                       "round or a sign flip in a rotation/phase")
    if ref.ndim >= 1 and ref.shape[-1:] == (2,) and port.shape == ref.shape:
        return _half_negated(ref, port, ctx)
    return None


def _half_negated(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Finding | None:
    """One of the two entries of the last axis negated, the other equal, both possibly times
    one positive gain (a conjugate and a normalisation bug together)."""
    rows = sample_index(ref.size // 2, SAMPLE_LIMIT // 2)
    r = np.asarray(ref).reshape(-1, 2)[rows].astype(np.float64)
    p = np.asarray(port).reshape(-1, 2)[rows].astype(np.float64)
    tol = fit_tol(residual(p, r))  # the fit must explain the difference, not only be close
    for negated in (1, 0):
        flip = np.ones(2)
        flip[negated] = -1.0
        model = r * flip
        energy = float(np.einsum("ij,ij->", model, model))
        gain = float(np.einsum("ij,ij->", p, model)) / energy if energy > 0 else 0.0
        if gain <= 0:
            continue
        scaled = abs(gain - 1) > GAIN_EXACT
        res = residual(p, model * gain if scaled else model)
        if res > tol:
            continue
        params = {"c": -1.0, "residual": res, "gain": gain if scaled else 1.0}
        times = f", ×{fmt(gain)}" if scaled else ""
        confidence = (GAINED_CONFIDENCE if scaled else 1.0) * fit_quality(res, tol)
        if ctx.complex_pair:
            part = "imag" if negated == 1 else "real"
            what = (f"the complex conjugate of ref{times}: imaginary part negated"
                    if part == "imag"
                    else f"minus the complex conjugate of ref{times}: real part negated")
            hint = _HALF_HINT[part] + (f"; then undo the gain ×{fmt(gain)} (a normalisation)"
                                       if scaled else "")
            return Finding("sign", CONJUGATE_CONFIDENCE * confidence,
                           f"port is {what} (residual {fmt(res)})", {**params, "part": part},
                           hint)
        return Finding("sign", CHANNEL_CONFIDENCE * confidence,
                       f"channel {negated} of the last axis (size 2) negated{times}, channel "
                       f"{1 - negated} matches (residual {fmt(res)}): a polarity flip of one "
                       "channel", {**params, "part": "channel", "axis": -1, "channel": negated},
                       f"negate channel {negated} of the port's last axis: look for a "
                       "difference of channels written the other way round (a complex "
                       "tensor's real/imag view is read as complex only when the trace marks "
                       "it so)")
    return None
