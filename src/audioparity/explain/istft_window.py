"""An ISTFT rebuilt from its recorded complex input in the forms ports differ in: the window
(periodic vs symmetric Hann), the DC/Nyquist bins (kept vs zeroed), the normalisation
(PyTorch's per-sample window envelope vs a constant window sum). Used by
:mod:`~audioparity.explain.compound` to name what is left once a scale is undone.

mlx-audio's ISTFT divided by a constant and used ``np.hanning`` (symmetric) where PyTorch
uses ``torch.hann_window`` (periodic); on a vocoder head's spectrum — not a consistent STFT —
the window's shape shows in every sample.
"""

from __future__ import annotations

import itertools

import numpy as np

from .arrays import residual
from .finding import ExplainContext

#: Residual up to which a rebuilt ISTFT counts as reproducing a tensor.
REBUILT = 1e-3
_MAX_FRAMES = 1 << 14


def hann(n: int, periodic: bool) -> np.ndarray:
    """Hann window of ``n`` samples, periodic (``torch.hann_window``) or symmetric
    (``np.hanning``)."""
    m = n if periodic else n - 1
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / max(m, 1))


def istft(spec: np.ndarray, n_fft: int, hop: int, *, periodic: bool = True,
          envelope: bool = True, dc_nyquist: bool = True, length: int | None = None
          ) -> np.ndarray:
    """Centre-trimmed overlap-add ISTFT of ``spec`` ``[..., F, frames]`` (complex)."""
    s = np.array(spec, dtype=np.complex128)
    if not dc_nyquist:
        s[..., 0, :] = 0
        s[..., -1, :] = 0
    w = hann(n_fft, periodic)
    frames = np.fft.irfft(s, n_fft, axis=-2) * w[:, None]
    n = frames.shape[-1]
    total = n_fft + hop * (n - 1)
    out = np.zeros(s.shape[:-2] + (total,))
    env = np.zeros(total)
    for i in range(n):
        out[..., i * hop:i * hop + n_fft] += frames[..., i]
        env[i * hop:i * hop + n_fft] += w * w
    if envelope:
        out = out / np.where(env > 1e-11, env, 1.0)
    else:
        out = out / (float(np.sum(w * w)) / hop)
    start = n_fft // 2
    length = hop * (n - 1) if length is None else length
    return out[..., start:start + length]


def _spec(ctx: ExplainContext) -> np.ndarray | None:
    for side in ("ref", "port"):
        x = ctx.input(0, side)
        if x is not None and np.iscomplexobj(x) and x.ndim >= 2 and x.shape[-1] <= _MAX_FRAMES:
            return x
    return None


_FORMS = list(itertools.product((True, False), (True, False), (True, False)))


def _words(form: tuple[bool, bool, bool]) -> list[str]:
    periodic, envelope, dc = form
    return [("periodic" if periodic else "symmetric") + " Hann window",
            "window-envelope normalisation" if envelope else "constant window-sum "
            "normalisation", "DC/Nyquist bins " + ("kept" if dc else "zeroed")]


def window_difference(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> dict | None:
    """Which ISTFT form the port's output (a scale already undone) follows where the
    reference's follows another, from the recorded complex input; None when the input is
    not recorded or no form reproduces both."""
    spec = _spec(ctx)
    if spec is None or ref.shape != port.shape or ref.ndim < 1:
        return None
    n_fft = 2 * (spec.shape[-2] - 1)
    frames = spec.shape[-1]
    length = ref.shape[-1]
    if frames < 2 or length % (frames - 1):
        return None
    hop = length // (frames - 1)
    r = np.asarray(ref, dtype=np.float64)
    p = np.asarray(port, dtype=np.float64)
    built = {}
    for form in _FORMS:
        y = istft(spec, n_fft, hop, periodic=form[0], envelope=form[1], dc_nyquist=form[2],
                  length=length)
        if y.size != r.size:
            return None
        built[form] = y.reshape(r.shape)
    ref_fits = {f: residual(r, y) for f, y in built.items()}
    ref_form = min(ref_fits, key=ref_fits.get)
    if ref_fits[ref_form] > REBUILT:
        return None
    best, best_res = None, np.inf
    for form, y in built.items():
        c = float(np.vdot(y, p) / max(float(np.vdot(y, y)), 1e-300))
        res = residual(p, c * y)
        if form != ref_form and res < best_res:
            best, best_res, best_c = form, res, c
    left = residual(p, r)
    if best is None or best_res > 1e-2 or best_res > 0.25 * left:
        return None
    ref_w, port_w = _words(ref_form), _words(best)
    diffs = [f"{pw} (ref: {rw})" for rw, pw in zip(ref_w, port_w) if rw != pw]
    return {"words": "the ISTFT rebuilt from its recorded input reproduces it with "
                     + "; ".join(diffs) + f" (residual {best_res:.3g})",
            "differences": diffs, "ref_form": ref_w, "port_form": port_w,
            "gain": best_c, "explained": 1.0 - (best_res / max(left, 1e-300)) ** 2,
            "n_fft": n_fft, "hop": hop}
