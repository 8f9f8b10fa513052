"""``channels_last``: the port stores ``[B, T, C]`` for ``[B, C, T]`` (and ``[B, H, W, C]``
for ``[B, C, H, W]``).

MLX convolutions work channels-last; PyTorch's channels-first. The transform moves the
port's last axis to position 1. A square ``[B, C, C]`` fits both readings: the values decide
(:mod:`~audioparity.compare.conventions.infer`).

>>> [t.name for t in detect((1, 16, 100), (1, 100, 16))]
['channels_last']
"""

from __future__ import annotations

from .base import Shape, Transform
from .registry import register


@register("channels_last", "stores activations channels-last")
def detect(ref_shape: Shape, port_shape: Shape) -> list[Transform]:
    """Port axis -1 is the reference's axis 1 (3-D and 4-D tensors)."""
    nd = len(ref_shape)
    if nd not in (3, 4) or len(port_shape) != nd:
        return []
    perm = (0, nd - 1, *range(1, nd - 1))
    if tuple(port_shape[p] for p in perm) != tuple(ref_shape):
        return []
    return [Transform(("channels_last",), port_shape, port_shape, perm, ref_shape)]
