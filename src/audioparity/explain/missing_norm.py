"""``missing_norm``: a normalization (RMSNorm, LayerNorm, per-head q/k norm) that one side
applies and the other skips.

Seed 000: soprano-rs ran a Qwen3 checkpoint through Candle's Qwen2 model, which has no
``q_norm``/``k_norm`` — the first token came out 7712 instead of 6136. With the module's
input recorded (``NAME:in0``) the signature tests which side equals a normalized input (up to
a per-channel weight) and which the raw input. At a rotary call (``apply_rotary_pos_emb``
with q/k and cos/sin recorded) it undoes the rotation on both sides first, which finds the
q/k norm a Qwen2-style port skips without any norm entry in its trace. With outputs only it
looks for the tell-tale per-row factor between the two that tracks the rows' RMS.

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

from .arrays import crop_around, fit_quality, fmt, residual
from .finding import ExplainContext, Finding
from .norms import channel_fit, layer_norm, norm_rows, rms_norm
from .registry import signature
from .rope_math import VARIANTS, crop_heads, recorded_rotation, rotate

_HINT = ("apply the reference's normalization here (Qwen3 adds a per-head RMSNorm on q and "
         "k after the head split; Qwen2 has none), with its weight and eps")


def _with_input(x: np.ndarray, r: np.ndarray, p: np.ndarray,
                source: str = "from the recorded input", method: str = "input"
                ) -> Finding | None:
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
                   f"(residuals {fmt(res_r[best_r])} / {fmt(res_p[best_p])}, {source})",
                   {"norm": norm, "side": side, "residual": res, "method": method}, _HINT)


def _outputs_only(r: np.ndarray, p: np.ndarray) -> Finding | None:
    """One side's rows (last axis) all have the same RMS, the other's vary, and row by row
    the two point the same way: a normalization over the last axis on one side only. Holds
    through a per-channel weight and through RoPE (a rotation keeps the row RMS)."""
    r2, p2 = r.reshape(-1, r.shape[-1]), p.reshape(-1, p.shape[-1])
    rms_r = np.sqrt(np.mean(r2 * r2, axis=1))
    rms_p = np.sqrt(np.mean(p2 * p2, axis=1))
    keep = (rms_r > 0) & (rms_p > 0)
    if keep.sum() < 4:
        return None
    cos = np.sum(r2[keep] * p2[keep], axis=1) / (rms_r[keep] * rms_p[keep] * r2.shape[1])
    agree = float(np.median(cos))
    spread_r = float(np.std(np.log(rms_r[keep])))
    spread_p = float(np.std(np.log(rms_p[keep])))
    lo, hi = min(spread_r, spread_p), max(spread_r, spread_p)
    # a norm leaves its side's row RMS nearly constant, tenfold flatter than the other's;
    # rows that only mix (attention whose mask is not applied averages every value) even
    # the RMS out three- or fourfold and are no norm
    if agree < 0.9 or lo > 0.15 or hi < 0.3 or hi < 5 * lo:
        return None
    side = "port skips it" if spread_p > spread_r else "port adds it"
    return Finding("missing_norm", 0.85 * fit_quality(1.0 - agree, 0.1),
                   f"one side's rows (last axis) all have the same RMS, the other's vary "
                   f"(log-RMS spread ref {fmt(spread_r)}, port {fmt(spread_p)}) while row by "
                   f"row they agree (median cosine {fmt(agree)}): a normalization over the "
                   f"last axis, {side}", {"norm": "RMSNorm or LayerNorm", "side": side,
                                         "row_cosine": agree, "method": "outputs"}, _HINT)


def _through_rotation(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext
                      ) -> Finding | None:
    """At a rotary call's output with its input and cos/sin recorded: undo the rotation on
    both sides, then ask which side's pre-rotation tensor is a normalized version of the
    other's. This finds a q/k norm skipped before RoPE when the port records no norm entry
    and its raw rows happen to have similar RMS (so the outputs-only test cannot see it)."""
    recorded = recorded_rotation(ctx, ref.shape)
    if recorded is None or recorded[1] is None:
        return None
    x, cos, sin = recorded
    r, p = crop_heads(ref), crop_heads(port)
    fits = {v: residual(r, rotate(x, cos, sin, v)) for v in VARIANTS}
    variant = min(fits, key=fits.get)
    if fits[variant] > 1e-3:
        return None
    pre_r, pre_p = x, rotate(p, cos, sin, variant, inverse=True)
    source = f"before the {variant} RoPE, undone with the recorded cos/sin"
    for raw in (pre_p, pre_r):  # port skips (its pre-rotation is raw), then port adds
        found = _with_input(raw, pre_r, pre_p, source, "through_rotation")
        if found is not None:
            return found
    return None


@signature("missing_norm", dtypes="float")
def match(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Finding | None:
    rows = norm_rows(ref, port)
    if rows is None:
        return None
    r, p = rows
    x = ctx.input(0, "ref")
    if x is not None and x.shape == ref.shape:
        found = _with_input(crop_around(x, -1), r, p)
        if found is not None:
            return found
    found = _through_rotation(ref, port, ctx)
    return found if found is not None else _outputs_only(r, p)
