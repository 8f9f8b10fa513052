"""Rotary embedding maths: HF half-split (``rotate_half``) and interleaved (GPT-J / Candle
``rope``) forms, their inverses, cos/sin tables from a base, and what a trace recorded
around a rotary call (HF ``apply_rotary_pos_emb``: ``:in0`` q, ``:in1`` k, ``:in2`` cos,
``:in3`` sin; its outputs ``NAME`` = q, ``NAME:out1`` = k)."""

from __future__ import annotations

import re

import numpy as np

from .finding import ExplainContext

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


def rotate_partial(x: np.ndarray, dim: int, base: float, variant: str,
                   inverse: bool = False) -> np.ndarray:
    """Apply (or undo) one variant on the first ``dim`` dims only (partial rotary, the
    frequencies spread over ``dim``); positions 0..T-1 on the axis before the last."""
    if dim == x.shape[-1]:
        cos, sin = tables(np.arange(x.shape[-2]), dim, base)
        return rotate(x, cos, sin, variant, inverse)
    cos, sin = tables(np.arange(x.shape[-2]), dim, base)
    return np.concatenate([rotate(x[..., :dim], cos, sin, variant, inverse), x[..., dim:]],
                          axis=-1)


_CROP = 1 << 16


def crop_heads(x: np.ndarray) -> np.ndarray:
    """Keep head_dim whole; cut the leading axes, then the sequence axis from its end (the
    positions kept still start at 0)."""
    x = np.asarray(x)
    while x.ndim > 2 and x.size > _CROP and x.shape[0] > 1:
        x = x[: max(1, x.shape[0] * _CROP // x.size)]
    while x.ndim > 3 and x.size > _CROP and x.shape[1] > 1:
        x = x[:, : max(1, x.shape[1] * _CROP // x.size)]
    if x.size > _CROP:
        x = x[..., : max(2, x.shape[-2] * _CROP // x.size), :]
    return np.asarray(x, dtype=np.float64)


def _broadcast(table: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    """HF cos/sin ``[B, T, D]`` (or ``[T, D]``) shaped to broadcast against ``shape``."""
    t = np.asarray(table, dtype=np.float64)
    if t.ndim == 3 and len(shape) == 4:
        t = t[:1] if t.shape[0] != shape[0] else t
        t = t[:, None] if shape[2] == t.shape[1] else t[:, :, None]
    try:
        np.broadcast_shapes(t.shape, shape)
    except ValueError:
        return None
    return t


def _crop_like(table: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Cut a broadcastable cos/sin table to the cropped tensor's leading axes and length."""
    index = tuple(slice(0, min(n, m)) for n, m in zip(table.shape, x.shape))
    return table[index]


def recorded_rotation(ctx: ExplainContext, shape: tuple[int, ...]
                      ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None] | None:
    """The rotary call's recorded input for this output and its cos/sin, cropped like
    :func:`crop_heads`: ``(x, cos, sin)``; cos/sin None when not recorded; None without the
    input. Output ``NAME:outK`` pairs with input ``NAME:inK`` (q -> in0, k -> in1)."""
    m = re.fullmatch(r"(.*):out(\d+)", ctx.name)
    base, index = (m.group(1), int(m.group(2))) if m else (ctx.name, 0)
    sub = ExplainContext(name=base, get_ref=ctx.get_ref, get_port=ctx.get_port)
    x = sub.input(index, "port")
    if x is None or x.shape != tuple(shape):
        return None
    x = crop_heads(x)
    cos, sin = sub.input(2, "port"), sub.input(3, "port")
    if cos is None or sin is None:
        return x, None, None
    cos, sin = _broadcast(cos, tuple(shape)), _broadcast(sin, tuple(shape))
    if cos is None or sin is None:
        return x, None, None
    return x, _crop_like(cos, x), _crop_like(sin, x)


def rotated_rows(ref: np.ndarray, port: np.ndarray) -> bool:
    """True when every row (last axis) keeps its norm while the rows differ: a rotation
    (RoPE in another form), which a mask — exact rows or rows of other values — never is."""
    if ref.ndim < 2 or ref.shape[-1] % 2 or ref.shape[-1] < 4:
        return False
    r, p = crop_heads(ref)[..., :64, :], crop_heads(port)[..., :64, :]
    nr, np_ = np.linalg.norm(r, axis=-1), np.linalg.norm(p, axis=-1)
    scale = max(float(nr.max(initial=0.0)), 1e-300)
    return bool(np.max(np.abs(nr - np_)) <= 1e-5 * scale
                and np.linalg.norm(p - r) > 1e-3 * np.linalg.norm(r))
