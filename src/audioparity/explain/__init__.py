"""Why does a port differ? The cause catalogue: one signature module per cause of SPEC's
vocabulary, each ``match(ref, port, ctx) -> Finding | None``, collected by
:mod:`~audioparity.explain.registry` and run by :func:`explain_pair`.

>>> import numpy as np
>>> ref = np.random.default_rng(0).normal(size=(8, 4, 3))
>>> [f.cause for f in explain_pair(ref, -ref)]
['sign']
"""

from __future__ import annotations

from .engine import explain_pair
from .finding import CAUSES, ExplainContext, Finding
from .registry import Signature, signature, signatures

__all__ = ["CAUSES", "ExplainContext", "Finding", "Signature", "explain_pair", "signature",
           "signatures"]
