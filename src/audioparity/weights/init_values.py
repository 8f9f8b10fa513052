"""Tensors still at their initial values: a loader that skipped them (seed 002's decoder).

A tensor that does not match its reference is tested against what a freshly constructed
PyTorch module holds before any checkpoint is loaded:

* all zeros (biases of many inits, LayerNorm bias), all ones (norm weights), any constant;
* ``reset_parameters()`` of ``nn.Linear`` / ``nn.ConvNd`` / ``nn.ConvTransposeNd``:
  kaiming-uniform, i.e. U(-b, b) with b = 1/sqrt(fan_in), fan_in = shape[1]·prod(shape[2:])
  of the weight in PyTorch layout (the bias uses its weight's fan_in);
* weight norm at init: ``g == ‖v‖`` per output channel;
* Gaussian N(0, σ²) with σ = 1 (``nn.Embedding``) or 0.02 (transformers' initializer_range).

Only tensors that fail to match their reference are tested, so a trained LayerNorm that
happens to be all ones is not reported.
"""

from __future__ import annotations

import numpy as np

_GAUSS_STDS = (1.0, 0.02)
_MIN_STATS = 64


def fan_in(weight_shape: tuple[int, ...]) -> int:
    """fan_in of a PyTorch-layout weight, as ``torch.nn.init`` computes it."""
    if len(weight_shape) < 2:
        return 0
    return int(weight_shape[1] * np.prod(weight_shape[2:], dtype=np.int64))


def init_signature(x: np.ndarray, weight_fan_in: int | None = None,
                   v: np.ndarray | None = None) -> str | None:
    """Describe the initial-value pattern ``x`` matches, or None.

    Parameters
    ----------
    x : ndarray
        The port tensor, in the reference (PyTorch) layout.
    weight_fan_in : int, optional
        fan_in of the module's weight; for a bias (1-D) this decides the uniform bound.
        Defaults to :func:`fan_in` of ``x``'s own shape.
    v : ndarray, optional
        For a weight-norm ``g``: the module's ``v`` (tests ``g == ‖v‖``).
    """
    a = np.asarray(x, dtype=np.float64)
    if a.size == 0 or not np.all(np.isfinite(a)):
        return None
    first = a.reshape(-1)[0]
    if np.all(a == first):
        return {0.0: "all zeros", 1.0: "all ones"}.get(float(first), f"constant {first:g}")
    if v is not None:
        vv = np.asarray(v, dtype=np.float64)
        norm = np.sqrt((vv ** 2).reshape(vv.shape[0], -1).sum(axis=1))
        if norm.size == a.size and np.allclose(a.reshape(-1), norm, rtol=1e-3):
            return "weight-norm g equals ‖v‖ (as right after weight_norm() is applied)"
    fi = weight_fan_in if weight_fan_in is not None else fan_in(a.shape)
    if fi:
        bound = 1.0 / np.sqrt(fi)
        amax = float(np.max(np.abs(a)))
        std = float(a.std())
        if (amax <= bound * (1 + 1e-5) and (a.size < _MIN_STATS or (
                amax >= 0.8 * bound and abs(std - bound / np.sqrt(3)) < 0.15 * bound / np.sqrt(3)
                and abs(float(a.mean())) < 0.2 * bound))):
            return f"uniform in ±1/sqrt(fan_in)=±{bound:.4g} (fresh reset_parameters())"
    if a.size >= 256:
        std, mean = float(a.std()), float(a.mean())
        kurt = float(np.mean(((a - mean) / std) ** 4)) if std > 0 else 0.0
        for sigma in _GAUSS_STDS:
            if abs(std - sigma) < 0.05 * sigma and abs(mean) < 0.1 * sigma and abs(kurt - 3) < 0.5:
                return f"Gaussian N(0, {sigma:g}²) (fresh init)"
    return None
