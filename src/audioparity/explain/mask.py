"""``mask``: along one (sequence) axis the positions before ``k`` are exact and the error
starts at ``k`` — or the reverse, positions from ``k`` on are exact.

Seed 001: ICL voice cloning produced garbage while every other mode passed — the prefill's
attention mask. Typical forms: a sliding window applied as a full causal mask (positions
``< window`` agree), causal vs bidirectional attention (only the last position agrees), a
padding mask on the first or last frames.

A causal mask that is passed but not applied looks like no mask at all: mlx-audio's Bark GPT
hands ``tril(ones)`` as float32 to ``mx.fast.scaled_dot_product_attention``, which *adds* a
float mask to the scores (+1 where allowed, +0 on future keys), so every query but the last
attends to the future. From the pair alone that is "only the last position exact, the error
shrinking toward it" (earlier queries see more future keys), named even on a short prompt;
with the layer's q, k, v recorded (or its fused q|k|v projection) the attention is rebuilt
and the 0/1 mask added to the scores is told apart from no mask at all.

Example
-------
>>> import torch
>>> x = torch.randn(1, 2, 32, 16)
>>> full = torch.nn.functional.scaled_dot_product_attention(x, x, x, is_causal=True)
>>> win = torch.ones(32, 32).tril().triu(-7).bool()          # sliding window of 8
>>> slid = torch.nn.functional.scaled_dot_product_attention(x, x, x, attn_mask=win)
>>> match(slid.numpy(), full.numpy(), ExplainContext()).params["k"]
8
"""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from .arrays import axis_name, fit_quality, fmt, on_bf16_grid, position_error
from .attention_math import Hypothesis, describe, fit_attention
from .finding import ExplainContext, Finding
from .registry import signature
from .rope_math import rotated_rows

#: Largest error an "exact" position may show, relative to the typical erroneous one (f32;
#: ``_EXACT_LOW`` when a side is bf16/f16 and "exact" means "within rounding").
_EXACT = 0.01
_EXACT_LOW = 0.05
#: Shortest axis searched (a sequence, not a handful of codebooks or heads).
_MIN_LEN = 16
#: Shortest axis on which "only the last position exact" is still read as a causal mask
#: missing or not applied (a short prompt), when the error also shrinks toward the end.
_MIN_LEN_CAUSAL = 8
#: Spearman correlation of the error with the position, at most, for "shrinks toward the
#: end" (each earlier query sees more future keys).
_SHRINKS = -0.5
#: Smallest per-position error counted as a real difference (f32 noise is ~1e-7).
_FLOOR = 1e-4
#: How much the first wrong position must exceed every exact one (a step, not a slope).
_JUMP = 3.0


def _prefix_split(err: np.ndarray, exact: float) -> tuple[int, float] | None:
    """Smallest ``k`` where an exact run ``err[:k]`` jumps to a mostly wrong ``err[k:]``."""
    pre_max = np.maximum.accumulate(err)[:-1]            # max(err[:k]) for k = 1..n-1
    nxt = err[1:]                                        # err[k]
    jumps = np.flatnonzero((nxt > _FLOOR) & (nxt >= _JUMP * np.maximum(pre_max, 1e-9)))
    for i in jumps:
        k = int(i) + 1
        wrong = err[k:]
        typical = float(np.median(wrong))
        ratio = float(pre_max[i]) / typical if typical > 0 else np.inf
        frac = float(np.mean(wrong > max(_JUMP * float(pre_max[i]), _FLOOR)))
        if ratio <= exact and frac >= 0.8:
            return k, ratio
    return None


def prefix_grows(err: np.ndarray, k: int, kind: str) -> bool:
    """True when the "exact" run before a split is not flat noise but a steadily growing
    error (an accumulation whose error jumps where the f32 exponent steps): a ``drift``."""
    run = err[:k] if kind == "prefix_exact" else err[k:][::-1]
    if run.size < 8:
        return False
    tenth = max(2, run.size // 5)
    start, end = float(np.mean(run[:tenth])), float(np.mean(run[-tenth:]))
    if end < 1e-5 or end < 5 * max(start, 1e-300):
        return False
    rho = float(spearmanr(np.arange(run.size), run).statistic)
    return bool(np.isfinite(rho) and rho > 0.6)


def split_point(err: np.ndarray, exact: float = _EXACT) -> tuple[int, str, float] | None:
    """Find ``k`` where a run of exact positions meets a run of wrong ones.

    Returns ``(k, "prefix_exact" | "suffix_exact", ratio)`` with ``ratio`` the exact run's
    largest error over the wrong run's median, or None.
    """
    n = err.size
    best = None
    hit = _prefix_split(err, exact)
    if hit is not None:
        best = (hit[0], "prefix_exact", hit[1])
    hit = _prefix_split(err[::-1], exact)
    if hit is not None and (best is None or hit[1] < best[2]):
        best = (n - hit[0], "suffix_exact", hit[1])
    return best


_ADDED_HINT = ("apply the causal mask: the added mask is 1 where allowed and 0 on future keys, "
               "which masks nothing (future keys are only down-weighted by 1/e) — add 0 "
               "where allowed and -inf (or the dtype's minimum) where masked, or pass the "
               "mask as booleans (mx.fast.scaled_dot_product_attention and torch's SDPA add "
               "a float mask and select with a boolean one)")
_NOT_APPLIED_HINT = ("a causal mask missing or not applied: only the last query position "
                     "(which sees every key anyway) matches, earlier positions attend to the "
                     "future — apply the causal mask; if one is passed, check it is applied: "
                     "an additive float mask must be 0 where allowed and -inf where masked "
                     "(a 0/1 mask added to the scores masks nothing; pass booleans). Record "
                     "the output projection's input (inputs=True) with the layer's q, k, v "
                     "or fused qkv projection to tell which")


def _shrinking(err: np.ndarray, k: int) -> float:
    """Spearman correlation of the wrong positions' error ``err[:k]`` with the position."""
    if k < 3:
        return 0.0
    rho = float(spearmanr(np.arange(k), err[:k]).statistic)
    return rho if np.isfinite(rho) else 0.0


def _from_attention(hit: Hypothesis) -> Finding:
    p = hit.params
    hint = {"window": f"the port applies a sliding window of {p.get('k')} the reference does "
                      "not (or the reverse): check sliding_window / the layer's mask type",
            "bidirectional": "the port attends to future positions: apply the causal mask",
            "float_added": _ADDED_HINT,
            "causal": "the port masks future positions the reference attends to: this layer "
                      "is bidirectional (an encoder, a prefill block)"}[p["kind"]]
    return Finding("mask", 0.9 * fit_quality(hit.residual, 0.01), describe(hit),
                   {**p, "method": "attention rebuilt from recorded q, k, v",
                    "residual": hit.residual}, hint)


@signature("mask")
def match(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Finding | None:
    hit = fit_attention(ref, port, ctx) if ref.dtype.kind == "f" else None
    if hit is not None:
        return _from_attention(hit) if hit.cause == "mask" else None
    if ref.dtype.kind == "f" and rotated_rows(ref, port):
        return None  # position 0 exact because RoPE leaves it alone: ``rope_variant``
    low = {ctx.ref_dtype, ctx.port_dtype} & {"bfloat16", "float16"}
    exact = _EXACT_LOW if low or on_bf16_grid(port) != on_bf16_grid(ref) else _EXACT
    best = None
    for axis in range(ref.ndim):
        n = ref.shape[axis]
        if n < _MIN_LEN_CAUSAL:
            continue
        err, step = position_error(ref, port, axis)
        hit = split_point(err, exact)
        if hit is None or prefix_grows(err, hit[0], hit[1]):
            continue
        k, kind, ratio = hit
        trend = _shrinking(err, k) if kind == "suffix_exact" else 0.0
        only_last = kind == "suffix_exact" and k == err.size - 1 and step == 1
        if n < _MIN_LEN and not (only_last and trend <= _SHRINKS):
            continue  # a short axis: only the causal-mask pattern is specific enough
        k *= step  # positions were strided on a long axis: k is exact to ``step``
        exact_len = k if kind == "prefix_exact" else n - k
        score = fit_quality(ratio, exact) * min(1.0, (exact_len + 1) / 4)
        if best is None or score >= best[0]:
            best = (score, axis, k, kind, ratio, exact_len, trend, only_last)
    if best is None:
        return None
    score, axis, k, kind, ratio, exact_len, trend, only_last = best
    n = ref.shape[axis]
    params = {"axis": axis, "k": k, "kind": kind, "exact_positions": exact_len,
              "ratio": ratio}
    if kind == "prefix_exact" and k == 1:
        # position 0 of an attention output attends only to itself, so every RoPE
        # difference is exact there too: a window of 1 is only one reading
        what = f"only position 0 exact, error from position 1 of {n}"
        hint = ("a mask that keeps each position to itself (window 1) — or, at an attention "
                "output, any RoPE difference (pairing, base, rotary dim on q or k): record "
                "q, k, v or the rotary call (functions=) so the catalogue can rebuild the "
                "attention and tell them apart")
        params["ambiguous_with"] = "rope_variant"
        score = min(score, 0.3 / 0.9)
    elif kind == "prefix_exact":
        what = f"positions 0..{k - 1} exact, error from position {k} of {n}"
        hint = ("positions before k agree: a sliding window applied as a full causal mask "
                "(or the reverse) with window k, a wrong prefix/prompt length, or padding "
                "from k on")
    elif only_last:
        params["error_trend"] = trend
        shrinks = (f", shrinking toward it (Spearman {trend:.2f}: earlier queries see more "
                   "future keys)") if trend <= _SHRINKS else ""
        what = f"only the last position ({k}) exact, error at every earlier one of {n}{shrinks}"
        hint = _NOT_APPLIED_HINT
    else:
        params["error_trend"] = trend
        what = f"positions {k}..{n - 1} exact, error before position {k} of {n}"
        hint = ("only the last positions agree: causal vs bidirectional attention (the last "
                "query sees every key either way), or left padding that is masked on one "
                "side only")
    floor = 0.3 / 0.9 if params.get("ambiguous_with") else 0.4
    return Finding("mask", 0.9 * max(score, floor),
                   f"along {axis_name(ref.ndim, axis)}: {what} (exact run ≤ {fmt(ratio)} × "
                   "the typical error)", params, hint)
