"""Rotary embedding maths: HF half-split (``rotate_half``) and interleaved (GPT-J / Candle
``rope``) forms, their inverses, and cos/sin tables from a base."""

from __future__ import annotations

import numpy as np

#: Common RoPE bases tried when cos/sin are not recorded.
BASES = (1e4, 5e5, 1e6)


def tables(positions: np.ndarray, head_dim: int, base: float) -> tuple[np.ndarray, np.ndarray]:
    """HF-style ``cos, sin`` of shape ``[T, head_dim]`` (each half repeated)."""
    inv_freq = base ** (-np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    freqs = positions[:, None].astype(np.float64) * inv_freq[None, :]
    emb = np.concatenate([freqs, freqs], axis=-1)
    return np.cos(emb), np.sin(emb)


def half_split(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """HF ``q * cos + rotate_half(q) * sin`` (pairs ``(i, i + D/2)``)."""
    h = x.shape[-1] // 2
    rot = np.concatenate([-x[..., h:], x[..., :h]], axis=-1)
    return x * cos + rot * sin


def interleaved(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """Interleaved rotation (pairs ``(2i, 2i+1)``) with the same frequencies."""
    h = x.shape[-1] // 2
    c, s = cos[..., :h], sin[..., :h]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = np.empty(np.broadcast_shapes(x.shape, cos.shape), dtype=np.float64)
    out[..., 0::2] = x0 * c - x1 * s
    out[..., 1::2] = x1 * c + x0 * s
    return out


VARIANTS = {"half-split": half_split, "interleaved": interleaved}


def rotate(x: np.ndarray, cos: np.ndarray, sin: np.ndarray, variant: str,
           inverse: bool = False) -> np.ndarray:
    """Apply (or undo) one variant."""
    return VARIANTS[variant](x, cos, -sin if inverse else sin)
