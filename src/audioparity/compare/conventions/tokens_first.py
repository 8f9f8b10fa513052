"""``tokens_first``: the port keeps attention tensors ``[B, T, n_head, d]`` where the
reference has ``[B, n_head, T, d]`` (or the heads merged: ``[B, T, n_head·d]``).

PyTorch attention transposes to heads-first before the scores; llama.cpp and many ports
keep tokens first. The transform swaps axes 1 and 2 (after splitting merged heads).

>>> [t.name for t in detect((1, 4, 8, 16), (1, 8, 4, 16))]
['tokens_first']
"""

from __future__ import annotations

from .base import Shape, Transform
from .registry import register


@register("tokens_first", "keeps attention tensors tokens-first")
def detect(ref_shape: Shape, port_shape: Shape) -> list[Transform]:
    """Port ``[B, T, n_head, d]`` (or ``[B, T, n_head·d]``) for reference ``[B, n_head, T, d]``."""
    if len(ref_shape) != 4:
        return []
    b, n_head, t, d = ref_shape
    if n_head == 1 or t == 1:
        return []
    pre = (b, t, n_head, d)
    perm = (0, 2, 1, 3)
    if tuple(port_shape) == pre:
        return [Transform(("tokens_first",), port_shape, pre, perm, ref_shape)]
    if tuple(port_shape) == (b, t, n_head * d):
        return [Transform(("tokens_first", "heads"), port_shape, pre, perm, ref_shape)]
    return []
