"""The convention registry and the candidate search that composes conventions.

A convention proposes transforms from one port shape to one reference shape. The search
also tries each convention after fixing the batch axis (a port with no leading size-1 axis,
or an extra one), so ``[T, n_head, d]`` for ``[1, n_head, T, d]`` is found as
``batch_axis+tokens_first``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .base import Shape, Transform, numel

#: positions sampled to tell two transforms apart (same effect = same convention)
_PROBE = 97


@dataclass(frozen=True)
class Convention:
    """One way ports store tensors differently.

    ``detect(ref_shape, port_shape)`` returns transforms (possibly none) that read a port
    tensor of ``port_shape`` as ``ref_shape``; ``summary`` completes "port …" in reports.
    """

    name: str
    summary: str
    detect: Callable[[Shape, Shape], list[Transform]]
    composes_with_batch: bool = True


_REGISTRY: dict[str, Convention] = {}


def register(name: str, summary: str, *, composes_with_batch: bool = True):
    """Decorator: register ``detect`` under ``name``."""
    def deco(detect: Callable[[Shape, Shape], list[Transform]]):
        _REGISTRY[name] = Convention(name, summary, detect, composes_with_batch)
        return detect
    return deco


def conventions() -> list[Convention]:
    return list(_REGISTRY.values())


def describe(labels: str, count: int) -> str:
    """``"port stores activations channels-last: 87 tensors"`` for ``labels`` (``a+b``)."""
    parts = [_REGISTRY[label].summary if label in _REGISTRY else label
             for label in labels.split("+")]
    noun = "tensor" if count == 1 else "tensors"
    return f"port {' and '.join(parts)}: {count} {noun}"


def _batch_variants(ref_shape: Shape, port_shape: Shape) -> list[Shape]:
    """Port shapes with 0, 1 or 2 leading size-1 axes instead of the ones it has."""
    port_shape = tuple(port_shape)
    lead = 0
    while lead < len(port_shape) and port_shape[lead] == 1:
        lead += 1
    core = port_shape[lead:]
    out = [(1,) * k + core for k in range(3) if k != lead and len(core) + k <= 4]
    return [s for s in out if len(s) <= max(len(ref_shape), 1)]


def _signature(t: Transform) -> bytes:
    n = numel(t.ref_shape)
    pos = np.unique(np.linspace(0, max(n - 1, 0), min(n, _PROBE)).astype(np.int64))
    return t.port_indices(pos).tobytes()


def candidates(ref_shape: Shape, port_shape: Shape) -> list[Transform]:
    """Every non-identity transform the registered conventions propose, deduplicated by
    effect (a transform that moves no element is dropped when the shapes are equal)."""
    ref_shape, port_shape = tuple(ref_shape), tuple(port_shape)
    if numel(ref_shape) != numel(port_shape) or numel(ref_shape) == 0:
        return []
    found: list[Transform] = []
    for conv in _REGISTRY.values():
        found.extend(conv.detect(ref_shape, port_shape))
        if not conv.composes_with_batch:
            continue
        for shape in _batch_variants(ref_shape, port_shape):
            for t in conv.detect(ref_shape, shape):
                found.append(Transform(("batch_axis", *t.labels), port_shape, t.pre_shape,
                                       t.perm, t.ref_shape))
    seen = set()
    if ref_shape == port_shape:
        seen.add(bytes(np.arange(0)) if not ref_shape else _signature(
            Transform(("",), port_shape, port_shape, tuple(range(len(port_shape))), ref_shape)))
    out = []
    for t in found:
        sig = _signature(t)
        if sig not in seen:
            seen.add(sig)
            out.append(t)
    return out
