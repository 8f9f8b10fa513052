"""Weight normalisation in its three spellings, and fusing it.

PyTorch has written weight norm two ways, and converters often fuse it away:

* ``X.weight_g`` + ``X.weight_v`` (``torch.nn.utils.weight_norm``, old checkpoints),
* ``X.parametrizations.weight.original0`` + ``original1`` (``nn.utils.parametrizations``),
* ``X.weight`` = g · v / ‖v‖ (fused; what most ports load).

The norm is taken over every axis but ``dim`` (0 by default: one ``g`` per output channel);
``g`` keeps singleton axes (shape ``[out, 1, 1]`` for a Conv1d).
"""

from __future__ import annotations

import re

import numpy as np

_OLD = re.compile(r"^(?P<base>.*)\.weight_(?P<part>[gv])$")
_NEW = re.compile(r"^(?P<base>.*)\.parametrizations\.weight\.original(?P<idx>[01])$")

#: spelling names used in reports and by ``weights fix --weight-norm``
SPELLINGS = ("weight_g", "parametrizations", "fused")


def split_name(name: str) -> tuple[str, str, str] | None:
    """``(module, part, spelling)`` for a weight-norm tensor name, else None.

    ``part`` is ``"g"`` or ``"v"``; ``spelling`` is ``"weight_g"`` or ``"parametrizations"``.
    """
    m = _OLD.match(name)
    if m:
        return m["base"], m["part"], "weight_g"
    m = _NEW.match(name)
    if m:
        return m["base"], "g" if m["idx"] == "0" else "v", "parametrizations"
    return None


def canonical_name(name: str) -> str:
    """The ``weight_g``/``weight_v`` spelling of a weight-norm name; other names unchanged."""
    parts = split_name(name)
    return name if parts is None else f"{parts[0]}.weight_{parts[1]}"


def spell(module: str, part: str, spelling: str) -> str:
    """Name of part ``"g"``/``"v"`` of ``module`` in ``spelling``."""
    if spelling == "parametrizations":
        return f"{module}.parametrizations.weight.original{0 if part == 'g' else 1}"
    return f"{module}.weight_{part}"


def fuse(g: np.ndarray, v: np.ndarray, dim: int = 0) -> np.ndarray:
    """The weight g · v / ‖v‖ (norm over every axis but ``dim``), as float32."""
    v64 = np.asarray(v, dtype=np.float64)
    axes = tuple(a for a in range(v64.ndim) if a != dim % v64.ndim)
    norm = np.sqrt((v64 * v64).sum(axis=axes, keepdims=True))
    g64 = np.asarray(g, dtype=np.float64).reshape(norm.shape)
    return (g64 * v64 / np.where(norm == 0, 1.0, norm)).astype(np.float32)


def unfuse(weight: np.ndarray, dim: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(g, v)`` with ``fuse(g, v) == weight``: g = ‖weight‖ per ``dim`` slice, v = weight."""
    w = np.asarray(weight, dtype=np.float32)
    axes = tuple(a for a in range(w.ndim) if a != dim % w.ndim)
    g = np.sqrt((w.astype(np.float64) ** 2).sum(axis=axes, keepdims=True)).astype(np.float32)
    return g, w.copy()
