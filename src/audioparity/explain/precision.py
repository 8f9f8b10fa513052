"""``precision``: the difference is what reduced precision (bf16, f16, 8-bit quantization)
leaves — noise-like, proportional to the values, small. Not a bug in itself.

Seed 001: the talker ran in bf16 on CUDA and f32 on CPU; per-component max diffs of 1e-5 to
4e-5 in f32 and ~1e-2 relative in bf16. Seed 003: Q8_0 quantization damage per layer (with
``ctx.port_qtype`` set, the bound is that block format's).
Fires with low confidence so that any real cause outranks it, and only when something
supports the claim: a stored dtype below float32 on either side (``ctx.ref_dtype`` /
``ctx.port_dtype``), a GGUF ``ctx.port_qtype``, one side's values all on the bfloat16 grid
(a bf16 result written as float32), the port's recorded input of the module on that grid
(a module that upcasts to float32 but is fed bf16 values), or a lower dtype among the tensors
recorded upstream (``ctx.upstream_dtypes``: bf16 features fed to a float32 model). Between two plain float32 tensors a small noise-like
difference is left to the other signatures or ``unknown``: calling it rounding would hide
an accumulation, an approximation or a real bug.

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

#: Relative L2 errors that rounding (and a few layers of it) can explain, by level.
_LEVELS = (("float16", 2e-3), ("bfloat16 or 8-bit", 2.5e-2), ("8-bit quantization", 4e-2))
#: Stored dtypes that round below float32.
_LOW = {"bfloat16", "float16", "float8_e4m3fn", "float8_e5m2"}
#: The same for GGUF block formats (the port tensor dequantized).
_QTYPE_BOUNDS = {"Q8_0": 4e-2, "Q8_1": 4e-2, "Q6_K": 6e-2, "Q5_0": 0.1, "Q5_1": 0.1,
                 "Q5_K": 0.1, "Q4_0": 0.2, "Q4_1": 0.2, "Q4_K": 0.2}


def _input_on_bf16_grid(ctx: ExplainContext) -> bool:
    """The port's own recorded input of this module (``NAME:in0``) was bf16 (its values all
    on the bf16 grid): the module computed from rounded values even if it wrote float32."""
    if not ctx.name:
        return False
    try:
        x = ctx.get_port(f"{ctx.name}:in0")
    except (KeyError, OSError, ValueError):
        x = None
    if x is None:
        return False
    x = np.asarray(x)
    return x.dtype.kind == "f" and x.size >= 16 and bool(np.any(x)) and on_bf16_grid(x)


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
    grid = on_bf16_grid(p) != on_bf16_grid(r)
    upstream = sorted({d for side in ("ref", "port") for d in ctx.upstream_dtypes.get(side, ())}
                      & _LOW)
    fed = _input_on_bf16_grid(ctx) or bool(upstream)
    if not (declared or grid or ctx.port_qtype or fed):
        return None  # two float32/float64 tensors: nothing says either side was rounded
    if ctx.port_qtype:
        bound = _QTYPE_BOUNDS.get(ctx.port_qtype, 0.25)
        consistent = ctx.port_qtype if err <= bound else None
    else:
        level = next((name for name, bound in _LEVELS if err <= bound), None)
        consistent = None if level is None else (
            "bfloat16" if grid else min(declared) if declared else level)
    if consistent is None:
        return None
    stored = f"; stored dtypes {ctx.ref_dtype}/{ctx.port_dtype}" if declared else ""
    ongrid = "; port values lie on the bf16 grid" if grid else \
        f"; {'/'.join(upstream)} tensors recorded upstream" if upstream else \
        "; the port's recorded input lies on the bf16 grid" if fed else ""
    if fed and not (declared or grid or ctx.port_qtype):
        if err > dict(_LEVELS)["bfloat16 or 8-bit"]:
            return None
        consistent = f"{min(upstream) if upstream else 'bfloat16'} input"
    return Finding("precision", 0.3,
                   f"rel L2 {fmt(err)}, noise-like (corr with ref {fmt(correlation(d, r))}), "
                   f"consistent with {consistent} rounding{stored}{ongrid}",
                   {"rel_l2": err, "consistent_with": consistent,
                    "declared_dtypes": sorted(declared)},
                   "not a bug by itself: compare in f32 on both sides to confirm, or loosen "
                   "the tolerance for this component")
