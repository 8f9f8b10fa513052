"""Port conventions: how a port may store the same tensor in another layout.

Each convention is one module (channels-last, a missing or extra size-1 axis, attention heads
split/merged, heads-first vs tokens-first) registered with :func:`register`; the registry
proposes every way a port shape can be read as a reference shape, and
:mod:`~audioparity.compare.conventions.infer` decides, from the values, which of them a
port actually uses. One convention no shape reveals is declared by the port's runtime and
confirmed by values: llama.cpp's Q/K rows in its RoPE order (:mod:`.rope_rows`, read after
``infer``). Readers never see any of this: conventions live in compare.

>>> [t.name for t in candidates((1, 8, 32), (8, 4, 8))]
['batch_axis+heads']
"""

from __future__ import annotations

# registration order is the order candidates are listed in
from . import batch_axis, channels_last, heads, rope_rows, tokens_first  # noqa: F401
from .base import Shape, Transform, identity, numel
from .registry import Convention, candidates, conventions, describe, register
from .rope_rows import read_rope_rows

__all__ = ["Convention", "Shape", "Transform", "candidates", "conventions", "describe",
           "identity", "numel", "read_rope_rows", "register"]
