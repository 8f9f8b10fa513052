"""Is what a port emits as tokens sane? Codec tokens (range per codebook, offsets,
degeneracy, EOS) and generation (stop reason, first mismatching token, logits agreement).

Data walks one way: :mod:`load` reads a file into an integer array, :mod:`layout` names its
axes and brings it to ``[B, Q, T]``, the checks (:mod:`codebooks`, :mod:`loops`,
:mod:`offsets`, :mod:`eos`, :mod:`against_ref`, :mod:`logits`) are pure functions on arrays,
and :func:`check_tokens` ties them into one :class:`TokenCheck`.

>>> import numpy as np
>>> codes = np.random.default_rng(0).integers(0, 64, size=(1, 4, 200))
>>> result = check_tokens(as_tokens(codes + np.arange(4)[None, :, None] * 64), 64)
>>> [(p.check, p.params.get("offsets")) for p in result.problems][-1]
('offset', [0, 64, 128, 192])
"""

from __future__ import annotations

from .check import TokenCheck, check_tokens
from .layout import Tokens, as_tokens
from .load import read_logits, read_tokens
from .problem import Problem

__all__ = ["Problem", "TokenCheck", "Tokens", "as_tokens", "check_tokens", "read_logits",
           "read_tokens"]
