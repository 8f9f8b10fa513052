"""Sampling by inverse CDF from one recorded uniform: the exact-replay scheme.

A sampler that draws ``u ~ U[0, 1)`` and returns the first id whose cumulative probability
exceeds ``u · total`` is a pure function of (probabilities, ``u``). Two correct
implementations given the same ``u`` pick the same token; one whose probabilities differ
(a temperature applied twice, top-p cut at the wrong place) picks another as soon as the
two CDFs straddle ``u``. ``torch.multinomial`` and other samplers consume their generator
in their own way and cannot be replayed across runtimes; this one can, in any language:

    cdf = cumsum(p)            (float64, ids in increasing order)
    token = first i with cdf[i] > u * cdf[-1]

Ties with ``u`` are as unlikely as a uniform landing within float64 rounding of a CDF step.
"""

from __future__ import annotations

import numpy as np


def inverse_cdf(probs: np.ndarray, u: np.ndarray | float) -> np.ndarray:
    """The sampled ids: ``probs`` ``[..., V]`` (any non-negative weights, not necessarily
    normalised), ``u`` ``[...]`` uniforms in ``[0, 1)``; returns int64 ``[...]``.

    Examples
    --------
    >>> int(inverse_cdf(np.array([0.2, 0.5, 0.3]), 0.69))
    1
    >>> int(inverse_cdf(np.array([0.2, 0.5, 0.3]), 0.71))
    2
    """
    p = np.asarray(probs, np.float64)
    cdf = np.cumsum(p, axis=-1)
    target = np.asarray(u, np.float64) * cdf[..., -1]
    ids = np.sum(cdf <= target[..., None], axis=-1)  # first id whose cdf exceeds the target
    return np.minimum(ids, p.shape[-1] - 1).astype(np.int64)
