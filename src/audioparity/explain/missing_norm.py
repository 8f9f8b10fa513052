"""``missing_norm``: a normalization (RMSNorm, LayerNorm, per-head q/k norm) that one side
applies and the other skips.

Seed 000: soprano-rs ran a Qwen3 checkpoint through Candle's Qwen2 model, which has no
``q_norm``/``k_norm`` — the first token came out 7712 instead of 6136. With the module's
input recorded (``NAME:in0``) the signature tests which side equals a normalized input (up to
a per-channel weight) and which the raw input; with outputs only it looks for the tell-tale
per-row factor between the two that tracks the rows' RMS.

Example
-------
>>> import torch
>>> x = torch.randn(2, 4, 16, 32) * torch.rand(2, 4, 16, 1) * 3   # [B, heads, T, head_dim]
>>> norm = torch.nn.RMSNorm(32, eps=1e-6)
>>> match(norm(x).detach().numpy(), x.numpy(), ExplainContext()).params["side"]
'port skips it'
"""

from __future__ import annotations

import numpy as np

from .arrays import clearly_different, crop_around, fit_quality, fmt
from .finding import ExplainContext, Finding
from .norms import channel_fit, layer_norm, rms_norm, row_scale
from .registry import signature

_HINT = ("apply the reference's normalization here (Qwen3 adds a per-head RMSNorm on q and "
         "k after the head split; Qwen2 has none), with its weight and eps")


def _with_input(x: np.ndarray, r: np.ndarray, p: np.ndarray) -> Finding | None:
    hyp = {"none": (x, False), "RMSNorm": (rms_norm(x), False),
           "LayerNorm": (layer_norm(x), True)}
    res_r = {k: channel_fit(h, r, b) for k, (h, b) in hyp.items()}
    res_p = {k: channel_fit(h, p, b) for k, (h, b) in hyp.items()}
    best_r = min(res_r, key=res_r.get)
    best_p = min(res_p, key=res_p.get)
    if best_r == best_p or "none" not in (best_r, best_p):
        return None
    res = max(res_r[best_r], res_p[best_p])
    other = max(res_r["none"] if best_r != "none" else res_p["none"],
                res_p[best_r] if best_p == "none" else res_r[best_p])
    if res > 0.05 or other < 4 * res:
        return None
    norm = best_r if best_p == "none" else best_p
    side = "port skips it" if best_p == "none" else "port adds it"
    return Finding("missing_norm", 0.9 * fit_quality(res),
                   f"ref = {best_r}(input)·w, port = {best_p}(input)·w: {side} "
                   f"(residuals {fmt(res_r[best_r])} / {fmt(res_p[best_p])}, from the "
                   "recorded input)", {"norm": norm, "side": side, "residual": res,
                                       "method": "input"}, _HINT)


def _outputs_only(r: np.ndarray, p: np.ndarray) -> Finding | None:
    s, res = row_scale(r, p)
    if res > 0.05 or s.size < 4 or np.any(s <= 0):
        return None
    spread = float(s.max() / s.min())
    if spread < 1.5:
        return None
    rows_r = np.sqrt(np.mean(r.reshape(-1, r.shape[-1]) ** 2, axis=1))
    rows_p = np.sqrt(np.mean(p.reshape(-1, p.shape[-1]) ** 2, axis=1))
    keep = (rows_r > 0) & (rows_p > 0)
    cv_r = float(np.std(np.log(rows_r[keep])))
    cv_p = float(np.std(np.log(rows_p[keep])))
    if min(cv_r, cv_p) > 0.5 * max(cv_r, cv_p):
        return None  # neither side has normalized rows
    side = "port skips it" if cv_p > cv_r else "port adds it"
    return Finding("missing_norm", 0.85 * fit_quality(res),
                   f"port = ref × a per-row factor (last axis) spanning ×{fmt(spread)} that "
                   f"tracks the rows' RMS (log-RMS spread ref {fmt(cv_r)}, port {fmt(cv_p)}): "
                   f"a normalization over the last axis, {side} (residual {fmt(res)})",
                   {"norm": "RMSNorm or LayerNorm", "side": side, "residual": res,
                    "row_factor_range": [float(s.min()), float(s.max())],
                    "method": "outputs"}, _HINT)


@signature("missing_norm", dtypes="float")
def match(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Finding | None:
    if ref.ndim == 0 or ref.shape[-1] < 4:
        return None
    r, p = crop_around(ref, -1), crop_around(port, -1)
    if not clearly_different(r, p):
        return None
    x = ctx.input(0, "ref")
    if x is not None and x.shape == ref.shape:
        return _with_input(crop_around(x, -1), r, p)
    return _outputs_only(r, p)
