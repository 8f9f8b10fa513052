"""Is a decoder's output periodic with the period its input repeats at?

A token→audio decoder built from convolutions (and attention with relative positions) is
shift-equivariant: tokens that repeat every ``p`` frames must give audio that repeats every
``p × hop`` samples away from the edges, whatever the weights — so constant tokens and a
repeated pattern check a decoder even when its weights are random. Pure functions of ``y``.

>>> import numpy as np
>>> t = np.arange(8000)
>>> round(periodicity(np.sin(2 * np.pi * t / 80), 80), 3)
1.0
>>> periodicity(np.random.default_rng(0).normal(size=8000), 80) < 0.1
True
"""

from __future__ import annotations

import numpy as np

#: share of the signal skipped at each end (padding and the receptive field's edges)
EDGE = 0.25
#: below this RMS (full scale 1.0) the middle is silent and periodicity is not defined
SILENT_RMS = 10 ** (-60 / 20)


def periodicity(y: np.ndarray, period_samples: int, edge: float = EDGE) -> float:
    """Normalised correlation of the middle of ``y`` with itself ``period_samples`` later.

    1.0 for a signal that repeats exactly with that period, about 0 for noise; NaN when the
    middle is silent or shorter than two periods.
    """
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    start, stop = int(len(y) * edge), int(len(y) * (1 - edge))
    if period_samples < 1 or stop - start < 2 * period_samples:
        return float("nan")
    x, shifted = y[start:stop - period_samples], y[start + period_samples:stop]
    if np.sqrt(np.mean(np.square(x))) < SILENT_RMS:
        return float("nan")
    denom = float(np.linalg.norm(x) * np.linalg.norm(shifted))
    return float(np.dot(x, shifted) / denom) if denom > 0 else float("nan")
