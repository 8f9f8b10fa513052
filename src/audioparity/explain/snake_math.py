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

#: Channels fitted at most (spread over the axis): enough to relate two sides.
MAX_CHANNELS = 64
#: Samples per channel the grid search and the refinement look at (the residual and the
#: divisor of the answer use them all).
_GRID_SAMPLES = 512
#: Golden-section ratio: the refinement's bracket shrinks by it at each evaluation.
_INV_PHI = (np.sqrt(5.0) - 1.0) / 2.0
#: Refinement stops when the bracket is this narrow relative to its upper end.
_REL_TOL = 1e-7
#: Grid frequencies whose float32 error is within this much of the best one (relative to
#: ``d·d``, ~20 times float32's error there) are ranked again in float64 ...
_RANK_MARGIN = 1e-6
#: ... at most this many (the lowest).
_MAX_RERANKED = 256
#: Elements of a float32 ``sin²`` table computed at once (16 MB): a wide input range makes
#: the grid long.
_TABLE_SIZE = 1 << 22


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


def _sse(x: np.ndarray, d: np.ndarray, a: np.ndarray, tied: bool
         ) -> tuple[np.ndarray, np.ndarray]:
    """(sse, k) per row for ``d ≈ k·sin²(a·x)``: rows of ``x``, ``d`` [rows, samples], one
    frequency ``a`` per row; ``k = ±1/a`` when ``tied`` (the sign of ``a`` flips the curve),
    else least squares."""
    s2 = np.square(np.sin(a[:, None] * x))
    if tied:
        k = 1.0 / a
        e_pos = np.sum(np.square(d - k[:, None] * s2), axis=1)
        e_neg = np.sum(np.square(d + k[:, None] * s2), axis=1)
        return np.minimum(e_pos, e_neg), np.where(e_pos <= e_neg, k, -k)
    k = np.einsum("ij,ij->i", s2, d) / np.maximum(np.einsum("ij,ij->i", s2, s2), 1e-300)
    return np.sum(np.square(d - k[:, None] * s2), axis=1), k


def _grid_errors(x: np.ndarray, d: np.ndarray, grid: np.ndarray, forms: tuple[bool, ...]
                 ) -> dict[bool, np.ndarray]:
    """Squared error of each grid frequency on one channel's samples, per form (``True``:
    Snake, ``k = ±1/a``; ``False``: SnakeBeta, ``k`` least squares), from ``sin²`` tables in
    float32 (float64's ``sin`` costs ~20 times more) of at most ``_TABLE_SIZE`` elements;
    near the minimum the error is within ~1e-7·``d·d`` of float64's."""
    x32, d32 = x.astype(np.float32), d.astype(np.float32)
    rows = max(1, _TABLE_SIZE // max(x.size, 1))
    errs: dict[bool, list[np.ndarray]] = {form: [] for form in forms}
    for start in range(0, grid.size, rows):
        a = grid[start:start + rows]
        s2 = np.multiply.outer(a.astype(np.float32), x32)
        np.square(np.sin(s2, out=s2), out=s2)
        sd = np.einsum("ij,j->i", s2, d32)
        for form in forms:
            if form:  # k = ±1/a, the sign that fits better
                k = np.where(sd >= 0, 1.0, -1.0) / a
            else:
                k = sd / np.maximum(np.einsum("ij,ij->i", s2, s2), np.float32(1e-30))
            r = k.astype(np.float32)[:, None] * s2
            np.subtract(d32, r, out=r)
            errs[form].append(np.einsum("ij,ij->i", r, r))
    return {form: np.concatenate(parts) for form, parts in errs.items()}


def _grid_best(x: np.ndarray, d: np.ndarray, grid: np.ndarray, forms: tuple[bool, ...]
               ) -> dict[bool, int]:
    """Index of the grid frequency with the least squared error on one channel's samples,
    per form: ranked in float32, then the frequencies within float32's reach of the best
    ranked again in float64 (where the error is nearly flat in ``a``, as for small ``a`` in
    SnakeBeta, float32 alone would pick among them by its rounding)."""
    margin = _RANK_MARGIN * float(d @ d)
    best = {}
    for form, errs in _grid_errors(x, d, grid, forms).items():
        near = np.flatnonzero(errs <= errs.min() + margin)
        if near.size > _MAX_RERANKED:
            near = np.sort(near[np.argsort(errs[near], kind="stable")[:_MAX_RERANKED]])
        rows = (near.size, x.size)
        exact = _sse(np.broadcast_to(x, rows), np.broadcast_to(d, rows), grid[near], form)[0]
        best[form] = int(near[np.argmin(exact)])
    return best


def _refine(x: np.ndarray, d: np.ndarray, lo: np.ndarray, hi: np.ndarray, tied: bool
            ) -> np.ndarray:
    """Per row, the frequency in ``[lo, hi]`` with the least squared error: a golden-section
    search on all rows at once, until every bracket is narrower than ``_REL_TOL·hi``."""
    width = hi - lo
    ratio = float(np.max(width / (_REL_TOL * hi), initial=1.0))
    steps = int(np.ceil(np.log(max(ratio, 1.0)) / -np.log(_INV_PHI)))
    c, e = hi - _INV_PHI * width, lo + _INV_PHI * width
    fc, fe = _sse(x, d, c, tied)[0], _sse(x, d, e, tied)[0]
    for _ in range(steps):
        left = fc <= fe  # the minimum lies in [lo, e]: c becomes the new e, else e the new c
        lo, hi = np.where(left, lo, c), np.where(left, e, hi)
        probe = np.where(left, hi - _INV_PHI * (hi - lo), lo + _INV_PHI * (hi - lo))
        fp = _sse(x, d, probe, tied)[0]
        c, e = np.where(left, probe, e), np.where(left, c, probe)
        fc, fe = np.where(left, fp, fe), np.where(left, fc, fp)
    return np.where(fc <= fe, c, e)


def fit_snake(x: np.ndarray, y: np.ndarray, tied: bool | None = None) -> SnakeFit:
    """Fit Snake (``tied=True``), SnakeBeta (``False``) or the better of the two (``None``,
    Snake unless SnakeBeta leaves clearly less) on channels of axis 1.

    Each channel's frequency is bracketed by a grid search and refined on the same strided
    subsample (at most ~2·``_GRID_SAMPLES`` samples); the divisor and the residual use every
    sample."""
    n_ch = x.shape[1]
    channels = np.unique(np.linspace(0, n_ch - 1, min(n_ch, MAX_CHANNELS)).astype(int))
    xs = np.moveaxis(x, 1, 0)[channels].reshape(channels.size, -1).astype(np.float64)
    ds = np.moveaxis(y, 1, 0)[channels].reshape(channels.size, -1).astype(np.float64) - xs
    total = max(float(np.sqrt(np.sum(ds * ds))), 1e-300)
    grid = _grid(float(np.max(np.abs(xs), initial=0.0)))
    # y == x on a channel: a = 0 there (its sin² vanishes)
    scale = np.maximum(np.max(np.abs(xs), axis=1, initial=0.0), 1e-30)
    active = np.flatnonzero(np.any(np.abs(ds) > 1e-7 * scale[:, None], axis=1))
    sub = slice(None, None, max(1, xs.shape[1] // _GRID_SAMPLES))
    forms = (True, False) if tied is None else (tied,)
    best = {form: np.zeros(active.size, dtype=int) for form in forms}
    for row, j in enumerate(active):
        for form, i in _grid_best(xs[j, sub], ds[j, sub], grid, forms).items():
            best[form][row] = i
    fits = {}
    for form in forms:
        i = best[form]
        lo, hi = grid[np.maximum(i - 1, 0)], grid[np.minimum(i + 1, grid.size - 1)]
        a_act = _refine(xs[active][:, sub], ds[active][:, sub], lo, hi, form)
        err, k = _sse(xs[active], ds[active], a_act, form)
        a, b = np.zeros(channels.size), np.zeros(channels.size)
        b[active] = np.divide(1.0, k, out=np.full(k.shape, np.inf), where=k != 0)
        a[active] = b[active] if form else a_act  # tied: the sign lives in a
        fits[form] = SnakeFit(a, b, form, float(np.sqrt(np.sum(err))) / total, channels)
    if tied is not None:
        return fits[tied]
    snake, beta = fits[True], fits[False]
    return snake if snake.residual <= 2 * beta.residual + 1e-3 else beta
