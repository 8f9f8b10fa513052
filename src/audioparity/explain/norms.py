"""Normalization maths shared by ``missing_norm`` and ``norm_eps``: the two norms over the
last axis and per-row / per-channel fits."""

from __future__ import annotations

import numpy as np

from .arrays import clearly_different, crop_around

#: Widest last axis a normalization is looked for over (hidden sizes, not audio samples).
MAX_ROW = 1 << 16


def rms_norm(x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """RMSNorm over the last axis without weight: ``x / sqrt(mean(x²) + eps)``."""
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)


def layer_norm(x: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """LayerNorm over the last axis without weight/bias."""
    c = x - x.mean(axis=-1, keepdims=True)
    return c / np.sqrt(np.mean(c * c, axis=-1, keepdims=True) + eps)


def row_scale(r: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-row factors ``s`` (rows along the last axis) with ``p ≈ s·r``, and the residual."""
    r2 = r.reshape(-1, r.shape[-1])
    p2 = p.reshape(-1, p.shape[-1])
    den = np.sum(r2 * r2, axis=1)
    keep = den > 0
    s = np.where(keep, np.sum(r2 * p2, axis=1) / np.where(keep, den, 1.0), 0.0)
    err = np.sqrt(np.sum((p2 - s[:, None] * r2) ** 2))
    return s[keep], float(err / max(np.sqrt(np.sum(p2 * p2)), 1e-300))


def channel_fit(h: np.ndarray, y: np.ndarray, bias: bool) -> float:
    """Residual of ``y ≈ h·g (+ b)`` with a per-channel (last axis) gain and bias."""
    h2 = h.reshape(-1, h.shape[-1])
    y2 = y.reshape(-1, y.shape[-1])
    if bias:
        hm, ym = h2.mean(axis=0), y2.mean(axis=0)
        hc, yc = h2 - hm, y2 - ym
    else:
        hc, yc = h2, y2
    g = np.sum(hc * yc, axis=0) / np.maximum(np.sum(hc * hc, axis=0), 1e-300)
    err = yc - hc * g
    return float(np.sqrt(np.sum(err * err)) / max(np.sqrt(np.sum(y2 * y2)), 1e-300))


def norm_rows(ref: np.ndarray, port: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Crops of both tensors keeping the last axis whole, when a normalization over it can
    be looked for (4..MAX_ROW wide) and the pair is clearly different; else None."""
    if ref.ndim == 0 or not 4 <= ref.shape[-1] <= MAX_ROW:
        return None
    r, p = crop_around(ref, -1), crop_around(port, -1)
    return (r, p) if clearly_different(r, p) else None
