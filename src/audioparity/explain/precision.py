"""``precision``: the difference is what reduced precision (bf16, f16, 8-bit quantization)
leaves — noise-like, proportional to the values, small. Not a bug in itself.

Seed 001: the talker ran in bf16 on CUDA and f32 on CPU; per-component max diffs of 1e-5 to
4e-5 in f32 and ~1e-2 relative in bf16. Seed 003: Q8_0 quantization damage per layer.
Fires with low confidence so that any real cause outranks it.

Example
-------
>>> import torch
>>> ref = torch.randn(64, 256)
>>> port = ref.bfloat16().float()
>>> match(ref.numpy(), port.numpy(), ExplainContext()).params["consistent_with"]
'bfloat16'
"""

from __future__ import annotations

import numpy as np

from .arrays import clearly_different, correlation, fmt, on_bf16_grid, paired_sample, rel_l2
from .finding import ExplainContext, Finding
from .registry import signature

#: Relative L2 errors that each format's rounding (and a few layers of it) can explain.
_BOUNDS = (("float16", 2e-3), ("bfloat16", 2.5e-2), ("8-bit quantization", 4e-2))


@signature("precision", dtypes="float")
def match(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Finding | None:
    r, p = paired_sample(ref, port)
    if not clearly_different(r, p):
        return None
    err = rel_l2(r, p)
    d = p - r
    # rounding noise is not a fitted relation: it is (nearly) uncorrelated with the values
    c = float(np.dot(r, p) / max(float(np.dot(r, r)), 1e-300))
    if abs(c - 1.0) > 2 * err + 1e-3 or abs(correlation(d, r)) > 0.5:
        return None
    energy = np.sort(d * d)[::-1]
    top = float(energy[: max(1, energy.size // 100)].sum() / max(energy.sum(), 1e-300))
    if top > 0.5 and energy.size >= 100:
        return None  # concentrated in a few elements: not rounding
    declared = {ctx.ref_dtype, ctx.port_dtype} - {"float32", "float64"}
    grid = "bfloat16" if (on_bf16_grid(p) != on_bf16_grid(r)) else None
    fmt_name = next((name for name, bound in _BOUNDS if err <= bound), None)
    if fmt_name is None:
        return None
    consistent = grid or (min(declared) if declared else fmt_name)
    stored = f"; stored dtypes {ctx.ref_dtype}/{ctx.port_dtype}" if declared else ""
    ongrid = "; port values lie on the bf16 grid" if grid else ""
    return Finding("precision", 0.3 if declared or grid else 0.25,
                   f"rel L2 {fmt(err)}, noise-like (corr with ref {fmt(correlation(d, r))}), "
                   f"consistent with {consistent} rounding{stored}{ongrid}",
                   {"rel_l2": err, "consistent_with": consistent,
                    "declared_dtypes": sorted(declared)},
                   "not a bug by itself: compare in f32 on both sides to confirm, or loosen "
                   "the tolerance for this component")
