"""``activation``: an elementwise nonlinearity differs — GELU erf vs tanh, SiLU vs sigmoid,
ReLU vs a leaky slope, Snake with ``alpha`` vs ``exp(alpha)``.

Seed 001: Qwen3-TTS's decoder uses SnakeBeta, ``x + 1/exp(β)·sin²(exp(α)·x)`` (parameters
stored as logs); a port that uses α and β directly gets a different curve per channel. Needs
the module's input (``NAME:in0``): both sides are fitted against named forms (and per-channel
Snake on axis 1) and the one that differs is named.

Example
-------
>>> import torch
>>> x = torch.randn(4, 256)
>>> erf, tanh = torch.nn.GELU(), torch.nn.GELU(approximate="tanh")
>>> ctx = ExplainContext(name="act", get_ref=lambda n: x.numpy() if n == "act:in0" else None)
>>> match(erf(x).numpy(), tanh(x).numpy(), ctx).params["port"]
'gelu_tanh'
"""

from __future__ import annotations

import numpy as np
from scipy.special import erf, expit

from .arrays import clearly_different, crop_around, fit_quality, fmt, paired_sample, residual
from .finding import ExplainContext, Finding
from .registry import signature

_NAMED = {
    "identity": lambda x: x,
    "relu": lambda x: np.maximum(x, 0.0),
    "gelu_erf": lambda x: 0.5 * x * (1.0 + erf(x / np.sqrt(2.0))),
    "gelu_tanh": lambda x: 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi)
                                                     * (x + 0.044715 * x ** 3))),
    "silu": lambda x: x * expit(x),
    "sigmoid": expit,
    "tanh": np.tanh,
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
    "softplus": lambda x: np.logaddexp(0.0, x),
    "quick_gelu": lambda x: x * expit(1.702 * x),
}
_ALPHAS = np.exp(np.linspace(np.log(1e-2), np.log(30.0), 121))


def _named_fit(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    fits = {name: residual(y, f(x)) for name, f in _NAMED.items()}
    neg = x < 0
    if neg.sum() > 4 and (~neg).sum() > 4:
        slope = float(np.dot(x[neg], y[neg]) / np.dot(x[neg], x[neg]))
        if 1e-4 < abs(slope) < 0.9:
            fits[f"leaky_relu({slope:.4g})"] = residual(y, np.where(neg, slope * x, x))
    return fits


def snake_alpha(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-channel (axis 1) effective ``a``, ``b`` of ``y = x + sin²(a·x) / b``;
    returns ``a`` per channel and the overall residual."""
    xs = np.moveaxis(x, 1, 0).reshape(x.shape[1], -1)
    ys = np.moveaxis(y, 1, 0).reshape(y.shape[1], -1) - xs
    alphas = np.empty(xs.shape[0])
    err = 0.0
    for c in range(xs.shape[0]):
        s2 = np.sin(_ALPHAS[:, None] * xs[c][None, :]) ** 2           # [n_alpha, m]
        inv_b = (s2 @ ys[c]) / np.maximum(np.sum(s2 * s2, axis=1), 1e-300)
        sse = np.sum((ys[c][None, :] - inv_b[:, None] * s2) ** 2, axis=1)
        i = int(np.argmin(sse))
        alphas[c] = _ALPHAS[i]
        err += float(sse[i])
    return alphas, float(np.sqrt(err) / max(np.sqrt(np.sum(ys * ys)), 1e-300))


def _snake(x: np.ndarray, r: np.ndarray, p: np.ndarray) -> Finding | None:
    if x.ndim < 2 or x.shape[1] > 256 or np.any(r - x < -1e-4 * np.abs(x).max()):
        return None
    a_r, res_r = snake_alpha(x, r)
    a_p, res_p = snake_alpha(x, p)
    if max(res_r, res_p) > 0.1 or np.allclose(a_r, a_p, rtol=0.05):
        return None
    if np.allclose(a_p, np.log(a_r), rtol=0.05, atol=0.02):
        how = "port uses α where ref uses exp(α)"
        hint = ("apply exp() to Snake's alpha/beta as the reference does (SnakeBeta stores "
                "log-parameters)")
    elif np.allclose(np.log(a_p), a_r, rtol=0.05, atol=0.02):
        how = "port uses exp(α) where ref uses α"
        hint = "use Snake's alpha as stored (the reference does not exponentiate it)"
    else:
        how, hint = "Snake α differs per channel", "load Snake's alpha for each channel"
    res = max(res_r, res_p)
    return Finding("activation", 0.9 * fit_quality(res, 0.1),
                   f"Snake: {how} (fitted α ref {fmt(float(a_r[0]))}…, port "
                   f"{fmt(float(a_p[0]))}…; residual {fmt(res)})",
                   {"ref": "snake", "port": "snake", "alpha_ref": a_r.tolist(),
                    "alpha_port": a_p.tolist(), "residual": res}, hint)


@signature("activation", dtypes="float")
def match(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Finding | None:
    x = ctx.input(0, "ref")
    if x is None or x.shape != ref.shape or x.dtype.kind != "f":
        return None
    xs, r = paired_sample(x, ref)
    _, p = paired_sample(x, port)
    if not clearly_different(r, p):
        return None
    fits_r, fits_p = _named_fit(xs, r), _named_fit(xs, p)
    f_r, f_p = min(fits_r, key=fits_r.get), min(fits_p, key=fits_p.get)
    res_r, res_p = fits_r[f_r], fits_p[f_p]
    if f_r != f_p and res_r < 0.02 and res_p < 0.02:
        cross = min(fits_r.get(f_p, np.inf), fits_p.get(f_r, np.inf))
        if cross > 5 * max(res_r, res_p):
            res = max(res_r, res_p)
            sep = max(cross, 1e-300)
            return Finding("activation", 0.9 * fit_quality(res / sep, 0.2),
                           f"ref = {f_r}(input), port = {f_p}(input) (residuals "
                           f"{fmt(res_r)} / {fmt(res_p)}, {fmt(cross)} crossed)",
                           {"ref": f_r, "port": f_p, "residual": res},
                           f"use {f_r} in the port as the reference does")
    if res_r < 0.02 and res_p < 0.02:
        return None
    return _snake(crop_around(x, 1), crop_around(ref, 1), crop_around(port, 1)) \
        if x.ndim >= 2 else None
