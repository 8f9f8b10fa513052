"""A small layered model in NumPy, traced as the reference and as port revisions that
scale one layer's output (a bug a later revision fixes or moves)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from audioparity.trace import write_trace

LAYERS = 8


def model_trace(path: Path, scaled_layer: int | None = None) -> Path:
    """``layers.i = tanh(W_i @ layers.{i-1})`` traced in execution order; the port revision
    multiplies layer ``scaled_layer``'s output by 2 (a ``scale`` bug)."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 32)).astype(np.float32)
    tensors = {"embed": x}
    for i in range(LAYERS):
        w = (rng.standard_normal((32, 32)) / np.sqrt(32)).astype(np.float32)
        x = np.tanh(x @ w).astype(np.float32)
        if i == scaled_layer:
            x = 2 * x
        tensors[f"layers.{i}"] = x
    return write_trace(path, tensors)
