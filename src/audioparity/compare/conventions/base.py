"""What a port convention is: a shape rule that turns a port tensor into the reference's layout.

Every convention here is a pure re-indexing of the port tensor — a reshape, then an axis
permutation, then a reshape to the reference's shape — so it is described by a
:class:`Transform`, applied lazily to a memory map, and mapped back to port element indices
cheaply (for value fingerprints).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Transform:
    """``ref_layout = reshape(transpose(reshape(port, pre_shape), perm), ref_shape)``.

    ``labels`` names the conventions it combines (``("batch_axis", "channels_last")``);
    an empty ``labels`` is the identity.
    """

    labels: tuple[str, ...]
    port_shape: Shape
    pre_shape: Shape
    perm: tuple[int, ...]
    ref_shape: Shape

    @property
    def name(self) -> str:
        """``channels_last``, ``batch_axis+heads`` …; ``""`` for the identity."""
        return "+".join(self.labels)

    @property
    def is_identity(self) -> bool:
        return not self.labels

    def apply(self, port: np.ndarray) -> np.ndarray:
        """The port tensor in the reference's layout (a view where NumPy can make one)."""
        x = np.reshape(port, self.pre_shape)
        if self.perm != tuple(range(len(self.perm))):
            x = np.transpose(x, self.perm)
        return np.reshape(x, self.ref_shape)

    def port_indices(self, ref_flat: np.ndarray) -> np.ndarray:
        """Flat port indices of the elements at flat positions ``ref_flat`` of the result."""
        moved = tuple(self.pre_shape[p] for p in self.perm)
        multi = np.unravel_index(ref_flat, moved) if moved else ()
        src = [None] * len(self.perm)
        for k, p in enumerate(self.perm):
            src[p] = multi[k]
        if not src:
            return np.zeros_like(ref_flat)
        return np.ravel_multi_index(tuple(src), self.pre_shape)


def identity(shape: Shape) -> Transform:
    return Transform((), shape, shape, tuple(range(len(shape))), shape)


def numel(shape: Shape) -> int:
    return int(np.prod(shape, dtype=np.int64))
