"""``heads``: the port splits attention heads the reference keeps merged, or the reverse.

``[T, n_head, d]`` for ``[1, T, n_head·d]`` (llama.cpp's ``Qcur``): the shapes are equal
after merging adjacent axes, so a row-major reshape reads one as the other. Shapes that
only agree once everything is flattened (``[6, 4]`` vs ``[4, 6]``) are not this.

>>> [t.name for t in detect((1, 8, 32), (1, 8, 4, 8))]
['heads']
"""

from __future__ import annotations

from .base import Shape, Transform
from .registry import register


def common_coarsening(a: Shape, b: Shape) -> list[tuple[int, int, int]] | None:
    """Groups ``(size, axes of a, axes of b)`` merging adjacent axes of both into one shape,
    or None when there is none short of flattening."""
    a = tuple(d for d in a if d != 1)
    b = tuple(d for d in b if d != 1)
    groups, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        pa, pb, na, nb = a[i], b[j], 1, 1
        while pa != pb:
            if pa < pb and i + na < len(a):
                pa *= a[i + na]
                na += 1
            elif pb < pa and j + nb < len(b):
                pb *= b[j + nb]
                nb += 1
            else:
                return None
        groups.append((pa, na, nb))
        i, j = i + na, j + nb
    if i != len(a) or j != len(b):
        return None
    return groups


@register("heads", "splits or merges attention heads")
def detect(ref_shape: Shape, port_shape: Shape) -> list[Transform]:
    """A reshape when both shapes share a coarsening with ≥ 2 axes and some axes merged."""
    groups = common_coarsening(ref_shape, port_shape)
    if not groups or len(groups) < 2 or all(na == nb == 1 for _, na, nb in groups):
        return []
    if any(na > 1 and nb > 1 for _, na, nb in groups):
        return []  # [4, 8] vs [8, 4] inside one group: axes reordered, not heads merged
    labels = ("heads",)
    if [d for d in ref_shape if d != 1] != list(ref_shape[_leading_ones(ref_shape):]) or \
            [d for d in port_shape if d != 1] != list(port_shape[_leading_ones(port_shape):]):
        return []  # a size-1 axis inside the shape: not a plain head split
    if _leading_ones(ref_shape) != _leading_ones(port_shape):
        labels = ("batch_axis", "heads")
    return [Transform(labels, port_shape, port_shape, tuple(range(len(port_shape))),
                      ref_shape)]


def _leading_ones(shape: Shape) -> int:
    n = 0
    for d in shape:
        if d != 1:
            break
        n += 1
    return n
