"""Fit Snake's per-channel parameters from an (input, output) pair.

Snake (DAC's ``Snake1d``) is ``y = x + sin²(a·x) / (a + eps)``, ``a`` per channel (axis 1);
SnakeBeta (BigVGAN, Qwen3-TTS) frees the divisor: ``y = x + sin²(a·x) / (b + eps)``. With
``alpha_logscale`` the stored parameters are logs and the module uses ``a = exp(α)``,
``b = exp(β)``; a port that forgets (or adds) the ``exp`` gets another ``a`` per channel.
:func:`fit_snake` recovers ``a`` (and ``b``) per channel so the two sides can be related.

Example
-------
>>> import numpy as np
>>> x = np.random.default_rng(0).normal(size=(1, 3, 300)) * 2
>>> a = np.array([0.5, 1.0, 2.0])[None, :, None]
>>> fit = fit_snake(x, x + np.sin(a * x) ** 2 / a)
>>> fit.tied, fit.a.round(3).tolist()
(True, [0.5, 1.0, 2.0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

#: Channels fitted at most (spread over the axis): enough to relate two sides.
MAX_CHANNELS = 64
#: Samples per channel the grid search looks at (the refinement uses them all).
_GRID_SAMPLES = 512


@dataclass
class SnakeFit:
    """Per-channel fit of ``y = x + k·sin²(a·x)``.

    ``a``: frequency per fitted channel (signed when ``tied``: ``k = 1/a``);
    ``b``: the divisor ``1/k`` per channel; ``tied``: ``b == a`` (Snake) rather than a free
    ``b`` (SnakeBeta); ``residual``: relative error left; ``channels``: the fitted channels.
    A channel where ``y == x`` gets ``a = b = 0`` (``sin²(0·x) = 0``).
    """

    a: np.ndarray
    b: np.ndarray
    tied: bool
    residual: float
    channels: np.ndarray


def _grid(xmax: float) -> np.ndarray:
    """Frequencies to try: log-spaced below 1, then steps small enough that the phase
    ``a·x`` moves by at most ~0.3 rad over the input's range."""
    step = min(0.05, 0.3 / max(xmax, 1e-6))
    return np.concatenate([np.exp(np.linspace(np.log(1e-3), np.log(1.0), 80))[:-1],
                           np.arange(1.0, 60.0, step)])


def _channel(x: np.ndarray, d: np.ndarray, grid: np.ndarray, tied: bool
             ) -> tuple[float, float, float]:
    """(a, k, sse) for ``d ≈ k·sin²(a·x)`` on one channel."""
    def sse_at(a: float) -> tuple[float, float]:
        s2 = np.sin(a * x) ** 2
        if tied:  # k = ±1/a: the sign of a flips the curve
            k_pos = 1.0 / a
            e_pos = float(np.sum((d - k_pos * s2) ** 2))
            e_neg = float(np.sum((d + k_pos * s2) ** 2))
            return (e_pos, k_pos) if e_pos <= e_neg else (e_neg, -k_pos)
        k = float(s2 @ d) / max(float(s2 @ s2), 1e-300)
        return float(np.sum((d - k * s2) ** 2)), k

    sub = slice(None, None, max(1, x.size // _GRID_SAMPLES))
    xs, ds = x[sub], d[sub]
    s2 = np.sin(grid[:, None] * xs[None, :]) ** 2
    if tied:
        k = 1.0 / grid
        errs = np.minimum(np.sum((ds[None] - k[:, None] * s2) ** 2, axis=1),
                          np.sum((ds[None] + k[:, None] * s2) ** 2, axis=1))
    else:
        k = (s2 @ ds) / np.maximum(np.sum(s2 * s2, axis=1), 1e-300)
        errs = np.sum((ds[None] - k[:, None] * s2) ** 2, axis=1)
    i = int(np.argmin(errs))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    if hi > lo:
        best = minimize_scalar(lambda a: sse_at(a)[0], bounds=(lo, hi), method="bounded",
                               options={"xatol": 1e-7 * hi})
        a = float(best.x)
    else:
        a = float(grid[i])
    err, k_a = sse_at(a)
    return a, k_a, err


def fit_snake(x: np.ndarray, y: np.ndarray, tied: bool | None = None) -> SnakeFit:
    """Fit Snake (``tied=True``), SnakeBeta (``False``) or the better of the two (``None``,
    Snake unless SnakeBeta leaves clearly less) on channels of axis 1."""
    n_ch = x.shape[1]
    channels = np.unique(np.linspace(0, n_ch - 1, min(n_ch, MAX_CHANNELS)).astype(int))
    xs = np.moveaxis(x, 1, 0)[channels].reshape(channels.size, -1).astype(np.float64)
    ds = np.moveaxis(y, 1, 0)[channels].reshape(channels.size, -1).astype(np.float64) - xs
    total = max(float(np.sqrt(np.sum(ds * ds))), 1e-300)
    grid = _grid(float(np.max(np.abs(xs), initial=0.0)))
    fits = {}
    for form in ((True, False) if tied is None else (tied,)):
        a, b, err = np.zeros(channels.size), np.zeros(channels.size), 0.0
        for j in range(channels.size):
            if not np.any(np.abs(ds[j]) > 1e-7 * max(np.abs(xs[j]).max(), 1e-30)):
                continue  # y == x: a = 0 (the channel's sin² vanishes)
            a_j, k_j, e_j = _channel(xs[j], ds[j], grid, form)
            a[j] = a_j if not form else 1.0 / k_j  # tied: the sign lives in a
            b[j] = 1.0 / k_j if k_j else np.inf
            err += e_j
        fits[form] = SnakeFit(a, b, form, float(np.sqrt(err)) / total, channels)
    if tied is not None:
        return fits[tied]
    snake, beta = fits[True], fits[False]
    return snake if snake.residual <= 2 * beta.residual + 1e-3 else beta
