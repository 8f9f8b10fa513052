"""Real HF Qwen3 attention (``Qwen3Attention``, eager) run as the reference and as ports with
one attention bug each: RoPE pairing or base on q, k or both, a partial rotary dim, another
mask, GQA kv heads tiled instead of repeated. Each run records what a torch capture of the
layer records: the rotary call's inputs and outputs, ``v_proj``, ``o_proj``'s input and
output, under the capture's names."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from transformers.models.qwen3 import modeling_qwen3 as qwen3

PREFIX = "model.layers.0.self_attn"
ROPE = f"{PREFIX}.apply_rotary_pos_emb"
HEADS, KV_HEADS, HEAD_DIM, HIDDEN = 4, 2, 32, 128


def config(theta: float = 1e6) -> qwen3.Qwen3Config:
    cfg = qwen3.Qwen3Config(hidden_size=HIDDEN, num_attention_heads=HEADS,
                            num_key_value_heads=KV_HEADS, head_dim=HEAD_DIM,
                            rope_parameters={"rope_type": "default", "rope_theta": theta})
    cfg._attn_implementation = "eager"
    return cfg


def interleaved(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Candle's ``rope`` (GPT-J pairs (2i, 2i+1)) with HF's frequencies."""
    half = x.shape[-1] // 2
    c, s = cos[:, None, :, :half], sin[:, None, :, :half]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack([x0 * c - x1 * s, x1 * c + x0 * s], dim=-1).flatten(-2)


def half_split(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    return x * cos[:, None] + qwen3.rotate_half(x) * sin[:, None]


def partial(x: torch.Tensor, rotary_dim: int, theta: float, t: int) -> torch.Tensor:
    """Half-split RoPE on the first ``rotary_dim`` dims only (partial_rotary_factor)."""
    inv = 1.0 / theta ** (torch.arange(0, rotary_dim, 2).float() / rotary_dim)
    freqs = torch.arange(t).float()[:, None] * inv[None]
    emb = torch.cat([freqs, freqs], -1)[None]
    rot = half_split(x[..., :rotary_dim], emb.cos(), emb.sin())
    return torch.cat([rot, x[..., rotary_dim:]], -1)


def causal_mask(t: int, window: int | None = None, causal: bool = True) -> torch.Tensor:
    """An additive [1, 1, T, T] mask: causal (optionally a sliding window) or none."""
    i, j = torch.arange(t)[:, None], torch.arange(t)[None]
    keep = (j <= i) if causal else torch.ones(t, t, dtype=torch.bool)
    if window is not None:
        keep &= (i - j) < window
    return torch.where(keep, 0.0, float("-inf"))[None, None]


def tile_kv(x: torch.Tensor, n_rep: int) -> torch.Tensor:
    """kv heads tiled ``h0 h1 h0 h1`` instead of repeated ``h0 h0 h1 h1``."""
    return x.repeat(1, n_rep, 1, 1)


def run(t: int = 48, *, seed: int = 0, theta: float = 1e6, mask: torch.Tensor | None = None,
        rope_q: Callable | None = None, rope_k: Callable | None = None,
        expand: Callable | None = None) -> dict[str, np.ndarray]:
    """One forward pass of a seeded Qwen3Attention; returns the recorded tensors.

    ``rope_q`` / ``rope_k`` replace the rotation of q / k (``f(x, cos, sin)``), ``expand``
    replaces ``repeat_kv``; cos/sin always come from the reference's ``theta``."""
    torch.manual_seed(seed)
    attn = qwen3.Qwen3Attention(config(theta), layer_idx=0).eval()
    x = torch.randn(1, t, HIDDEN, generator=torch.Generator().manual_seed(seed + 1))
    cos, sin = qwen3.Qwen3RotaryEmbedding(config(theta))(x, torch.arange(t)[None])
    rec: dict[str, np.ndarray] = {}
    real_rope, real_repeat = qwen3.apply_rotary_pos_emb, qwen3.repeat_kv

    def rope(q, k, c, s, *args, **kwargs):
        rec.update({f"{ROPE}:in0": q.numpy(), f"{ROPE}:in1": k.numpy(),
                    f"{ROPE}:in2": c.numpy(), f"{ROPE}:in3": s.numpy()})
        q_out, k_out = real_rope(q, k, c, s)
        q_out = rope_q(q, c, s) if rope_q else q_out
        k_out = rope_k(k, c, s) if rope_k else k_out
        rec[ROPE], rec[f"{ROPE}:out1"] = q_out.numpy(), k_out.numpy()
        return q_out, k_out

    hooks = [attn.v_proj.register_forward_hook(
                 lambda _m, _i, out: rec.__setitem__(f"{PREFIX}.v_proj", out.numpy())),
             attn.o_proj.register_forward_hook(
                 lambda _m, inp, out: rec.update({f"{PREFIX}.o_proj:in0": inp[0].numpy(),
                                                  f"{PREFIX}.o_proj": out.numpy()}))]
    qwen3.apply_rotary_pos_emb = rope
    qwen3.repeat_kv = expand or real_repeat
    try:
        with torch.no_grad():
            out, _ = attn(x, (cos, sin), causal_mask(t) if mask is None else mask)
    finally:
        qwen3.apply_rotary_pos_emb, qwen3.repeat_kv = real_rope, real_repeat
        for h in hooks:
            h.remove()
    rec[PREFIX] = out.numpy()
    rec[f"{PREFIX}.o_proj.weight"] = attn.o_proj.weight.detach().numpy()
    return rec
