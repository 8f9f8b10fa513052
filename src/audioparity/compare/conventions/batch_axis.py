"""``batch_axis``: the port has no batch axis, or an extra size-1 axis.

llama.cpp keeps no batch axis (``[T, H]`` for the reference's ``[1, T, H]``); some ports add
one. The values are the same in row-major order, so the transform is a reshape.

>>> [t.name for t in detect((1, 8, 32), (8, 32))]
['batch_axis']
"""

from __future__ import annotations

from .base import Shape, Transform
from .registry import register


def _squeezed(shape: Shape) -> Shape:
    return tuple(d for d in shape if d != 1)


@register("batch_axis", "has no batch axis (or an extra size-1 axis)", composes_with_batch=False)
def detect(ref_shape: Shape, port_shape: Shape) -> list[Transform]:
    """A reshape when the shapes differ only by size-1 axes."""
    if ref_shape == port_shape or _squeezed(ref_shape) != _squeezed(port_shape):
        return []
    return [Transform(("batch_axis",), port_shape, port_shape, tuple(range(len(port_shape))),
                      ref_shape)]
