"""``permutation``: the same slices, in another order along one axis (heads, channels,
codebooks, rows).

Seed 003: Code2Wav consumes 8 codebooks; a port that orders them differently (or takes the
talker's 15 in another order) feeds each embedding table the wrong tokens. Also GQA: K/V heads
repeated as ``[0,0,1,1]`` (``repeat_interleave``) versus ``[0,1,0,1]`` (``tile``).
``params["order"][i]`` is the reference slice found at the port's position ``i``.

Example
-------
>>> ref = np.random.default_rng(0).integers(0, 4096, size=(1, 8, 50))
>>> match(ref, ref[:, [1, 0, 2, 3, 4, 5, 6, 7]], ExplainContext()).params["order"]
[1, 0, 2, 3, 4, 5, 6, 7]
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from .arrays import (
    axis_name,
    clearly_different,
    crop_around,
    fit_quality,
    fmt,
    residual,
    rows_along,
)
from .attention_math import describe, fit_attention
from .finding import ExplainContext, Finding
from .registry import signature

_MAX_SLICES = 512


def fit_order(r: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The assignment ``order`` minimising ``sum ||p[i] - r[order[i]]||²`` (rows of 2-D)."""
    cost = (np.sum(p * p, axis=1)[:, None] + np.sum(r * r, axis=1)[None, :]
            - 2.0 * p @ r.T)
    rows, cols = linear_sum_assignment(cost)
    order = np.empty(len(rows), dtype=np.int64)
    order[rows] = cols
    return order


@signature("permutation")
def match(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Finding | None:
    hit = fit_attention(ref, port, ctx) if ref.dtype.kind == "f" else None
    if hit is not None:
        if hit.cause != "permutation":
            return None
        return Finding("permutation", 0.92 * fit_quality(hit.residual, 0.01), describe(hit),
                       {**hit.params, "method": "attention rebuilt from recorded q, k, v",
                        "residual": hit.residual},
                       "expand kv heads per group as the reference does "
                       "(repeat_interleave / HF repeat_kv: [0, 0, 1, 1]), not tiled "
                       "(repeat / tile: [0, 1, 0, 1])")
    best: tuple[float, int, np.ndarray, float] | None = None
    for axis in range(ref.ndim):
        n = ref.shape[axis]
        if not 2 <= n <= _MAX_SLICES:
            continue
        r = rows_along(crop_around(ref, axis), axis)
        p = rows_along(crop_around(port, axis), axis)
        if not clearly_different(r, p):
            continue
        order = fit_order(r, p)
        ident = np.arange(n)
        if np.array_equal(order, ident) or np.array_equal(order, ident[::-1]):
            continue  # parity, or ``reversed``
        res = residual(p, r[order])
        base = residual(p, r)
        if res < 0.05 and base > 4 * res and (best is None or res < best[0]):
            best = (res, axis, order, base)
    if best is None:
        return None
    res, axis, order, base = best
    moved = int(np.sum(order != np.arange(order.size)))
    shown = order.tolist() if order.size <= 16 else order[:16].tolist() + ["…"]
    rows = _rope_rows(order) if axis == ref.ndim - 1 else None
    detail = (f"port = ref with {axis_name(ref.ndim, axis)} permuted: port[i] = "
              f"ref[order[i]], order {shown} ({moved} of {order.size} slices moved; "
              f"residual {fmt(res)}, {fmt(base)} unpermuted)")
    hint = (f"reorder axis {axis} in the port (codebook order, head order, GQA "
            "repeat_interleave vs tile, channel split of a fused projection)")
    params = {"axis": axis, "order": order.tolist(), "moved": moved, "residual": res}
    if rows is not None:
        from ..weights.rope_rows import ORDERS

        kind, head_dim = rows
        detail += f"; Q/K rows: {ORDERS[kind]}, head_dim {head_dim}"
        params.update(row_order=kind, head_dim=head_dim)
        hint = ("re-convert the weights (llama.cpp's convert_hf_to_gguf.py permutes Q/K rows "
                "once, for its interleaved RoPE), or write a corrected copy with "
                "`audioparity weights fix REF PORT --out NEW`")
    return Finding("permutation", 0.92 * fit_quality(res), detail, params, hint)


def _rope_rows(order: np.ndarray) -> tuple[str, int] | None:
    """The llama.cpp Q/K row order (``LlamaModel.permute`` once, twice or undone) that
    ``order`` is, with its head dimension; None for any other order."""
    from ..weights.rope_rows import order_index

    n = order.size
    for head_dim in range(4, n + 1, 2):
        if n % head_dim:
            continue
        for kind in ("permuted", "permuted_twice", "inverse"):
            if np.array_equal(order, order_index(n, head_dim, kind)):  # exact: indices
                return kind, head_dim
    return None
