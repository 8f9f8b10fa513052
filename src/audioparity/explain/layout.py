"""``layout``: the port holds the reference's values with the axes permuted — either as a
transposed tensor (``port.shape == ref.shape[perm]``) or, worse, as bytes in one layout read
with the other layout's shape (``port.shape == ref.shape``).

Seed 002: the Chatterbox ``s3gen`` weights mixed 346 Conv1d weights in MLX layout
``[out, k, in]`` with 1 in PyTorch layout ``[out, in, k]``; the vocoder's ConvTranspose1d
needed ``(1, 2, 0)``. Activations: ``[B, C, T]`` vs ``[B, T, C]``.
``params["perm"]`` is such that ``port.flat == ref.transpose(perm).flat``. When the pair
itself is no layout but the trace holds the module's weight (``NAME.weight``) on both sides,
the weight is checked instead (a conv fed a misread weight gives an unrelated output).

Example
-------
>>> w = np.random.default_rng(0).normal(size=(8, 4, 3))       # torch Conv1d [out, in, k]
>>> match(w, w.transpose(0, 2, 1).reshape(w.shape), ExplainContext()).params["perm"]
[0, 2, 1]
"""

from __future__ import annotations

import itertools

import numpy as np

from .arrays import clearly_different, fit_quality, fmt, residual
from .finding import ExplainContext, Finding
from .registry import signature

_MAX_NDIM = 5
_SAMPLE = 1 << 16

_HINTS = {
    (1, 0): "a Linear weight [out, in] read as [in, out] (x @ W vs x @ W.T)",
    (0, 2, 1): "Conv1d weight PyTorch [out, in, k] vs MLX [out, k, in], or activations "
               "[B, C, T] vs [B, T, C]",
    (1, 2, 0): "ConvTranspose1d weight PyTorch [in, out, k] vs MLX [out, k, in]",
    (2, 0, 1): "ConvTranspose1d weight MLX [out, k, in] vs PyTorch [in, out, k]",
    (1, 0, 2): "ConvTranspose1d weight [in, out, k] read as Conv1d [out, in, k]",
    (0, 2, 3, 1): "Conv2d weight PyTorch [out, in, kh, kw] vs MLX [out, kh, kw, in], or "
                  "[B, C, H, W] vs [B, H, W, C]",
    (0, 2, 1, 3): "[B, heads, T, head_dim] vs [B, T, heads, head_dim] (a missing transpose "
                  "after the head split)",
}


def _perms(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Axis permutations that actually move data (size-1 axes may go anywhere)."""
    seen: set[tuple[int, ...]] = set()
    out = []
    big = [a for a, n in enumerate(shape) if n > 1]
    for perm in itertools.permutations(range(len(shape))):
        key = tuple(a for a in perm if a in big)
        if key == tuple(big) or key in seen:
            continue
        seen.add(key)
        out.append(perm)
    return out


def _mapped(ref: np.ndarray, perm: tuple[int, ...], idx: np.ndarray) -> np.ndarray:
    """``ref.transpose(perm).flat[idx]`` without transposing the whole tensor."""
    tshape = tuple(ref.shape[a] for a in perm)
    multi = np.unravel_index(idx, tshape)
    ref_multi = [None] * ref.ndim
    for j, a in enumerate(perm):
        ref_multi[a] = multi[j]
    return ref.reshape(-1)[np.ravel_multi_index(ref_multi, ref.shape)].astype(np.float64)


def _weight_layout(ctx: ExplainContext) -> Finding | None:
    """The module's own weight (``NAME.weight`` on both sides) in another layout."""
    if not ctx.name:
        return None
    key = f"{ctx.name}.weight"
    try:
        w_ref, w_port = ctx.get_ref(key), ctx.get_port(key)
    except (KeyError, OSError, ValueError):
        return None
    if w_ref is None or w_port is None:
        return None
    found = _pair_layout(np.asarray(w_ref), np.asarray(w_port), ctx)
    if found is None or found.params.get("reshape_only"):
        return None
    found.detail = f"the module's weight {key}: {found.detail}"
    found.params["tensor"] = key
    found.confidence *= 0.95  # evidence one step removed from the pair itself
    return found


@signature("layout", same_shape=False)
def match(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Finding | None:
    return _pair_layout(ref, port, ctx) or _weight_layout(ctx)


def _pair_layout(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Finding | None:
    if ref.size != port.size or ref.ndim > _MAX_NDIM:
        return None
    step = max(1, ref.size // _SAMPLE)
    idx = np.arange(0, ref.size, step, dtype=np.int64)[:_SAMPLE]
    p = port.reshape(-1)[idx].astype(np.float64)
    straight = ref.reshape(-1)[idx].astype(np.float64)
    if ref.shape == port.shape and not clearly_different(straight, p):
        return None
    base = residual(p, straight)
    if ref.shape != port.shape and base < 1e-4:
        return Finding("layout", 0.5, f"port holds ref's values in the same order with shape "
                       f"{list(port.shape)} instead of {list(ref.shape)} (a reshape only)",
                       {"perm": list(range(ref.ndim)), "reshape_only": True,
                        "ref_shape": list(ref.shape), "port_shape": list(port.shape)},
                       "reshape the port's tensor to the reference's shape before comparing")
    best: tuple[float, tuple[int, ...]] | None = None
    for perm in _perms(ref.shape):
        res = residual(p, _mapped(ref, perm, idx))
        if best is None or res < best[0]:
            best = (res, perm)
    if best is None or best[0] > 0.05 or base < 4 * best[0]:
        return None
    res, perm = best
    tshape = [ref.shape[a] for a in perm]
    if list(port.shape) == tshape:
        how = f"port = ref.transpose{perm} (shape {tshape})"
        reread = False
    else:
        how = (f"port's bytes are ref.transpose{perm} read with shape {list(port.shape)} "
               f"(a layout mix-up, not a transpose of the tensor)")
        reread = True
    known = _HINTS.get(perm)
    if perm == (0, 2, 1) and ctx.module_type and "Transpose" in ctx.module_type:
        known = "ConvTranspose1d weight layout"
    hint = (f"convert this tensor with transpose{perm}"
            + (f": {known}" if known else "")
            + ("; the weight file mixes layouts, so convert per tensor by checking its "
               "shape, not by a global rule" if reread else ""))
    return Finding("layout", 0.95 * fit_quality(res), f"{how} (residual {fmt(res)})",
                   {"perm": list(perm), "reinterpreted": reread, "residual": res,
                    "known_as": known}, hint)
