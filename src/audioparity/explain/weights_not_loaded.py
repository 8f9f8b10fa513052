"""``weights_not_loaded``: the module got the right input but its output is unrelated to the
reference and looks like an untrained layer — the port's weights were never loaded.

Seed 002: a key prefix mismatch (``decoder.estimator.`` vs ``decoder.``) made ``update()``
skip the decoder's weights silently; its mel came out "zero-mean, high variance, flat
frequency response" instead of all-negative log-mel. Evidence used: the module input matches
(recorded ``NAME:in0`` on both sides, or the previous pair passed), near-zero correlation,
the variance ratio, a zero/constant output, the spectral flatness, and the module's own
weight (``NAME.weight``) when the trace holds it.

Example
-------
>>> import torch
>>> x = torch.randn(1, 64, 32)
>>> trained, fresh = torch.nn.Linear(32, 32), torch.nn.Linear(32, 32)
>>> with torch.no_grad():
...     _ = trained.weight.copy_(0.5 * torch.randn(32, 32)); _ = trained.bias.fill_(-3.0)
>>> ctx = ExplainContext(previous_ok=True)
>>> match(trained(x).detach().numpy(), fresh(x).detach().numpy(), ctx).cause
'weights_not_loaded'
"""

from __future__ import annotations

import numpy as np

from .arrays import (
    clearly_different,
    correlation,
    crop_around,
    fmt,
    paired_sample,
    rel_l2,
    spectral_flatness,
)
from .finding import ExplainContext, Finding
from .registry import signature


def _input_matches(ctx: ExplainContext) -> bool | None:
    x_ref = ctx.input(0, "ref")
    x_port = None
    if ctx.name:
        try:
            x_port = ctx.get_port(f"{ctx.name}:in0")
        except (KeyError, OSError, ValueError):
            x_port = None
    if x_ref is not None and x_port is not None and np.shape(x_ref) == np.shape(x_port):
        a, b = paired_sample(np.asarray(x_ref), np.asarray(x_port))
        return rel_l2(a, b) < 1e-2
    return ctx.previous_ok


def _weight_evidence(ctx: ExplainContext) -> str | None:
    """'unloaded' / 'misarranged' / 'loaded' from the module's weight when traced."""
    if not ctx.name:
        return None
    try:
        w_ref, w_port = ctx.get_ref(f"{ctx.name}.weight"), ctx.get_port(f"{ctx.name}.weight")
    except (KeyError, OSError, ValueError):
        return None
    if w_ref is None or w_port is None or np.size(w_ref) != np.size(w_port):
        return None
    a, b = paired_sample(np.asarray(w_ref), np.asarray(w_port))
    if rel_l2(a, b) < 1e-2:
        return "loaded"
    if np.allclose(np.sort(a), np.sort(b), rtol=1e-3, atol=1e-6 * float(np.abs(a).max())):
        return "misarranged"
    return "unloaded"


_SPECTRUM_LEN = 1 << 14


@signature("weights_not_loaded", dtypes="float")
def match(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Finding | None:
    r, p = paired_sample(ref, port)
    if r.size < 16 or float(np.std(r)) == 0 or not clearly_different(r, p):
        return None
    corr = correlation(r, p)
    if abs(corr) > 0.3:
        return None
    weights = _weight_evidence(ctx)
    if weights in ("loaded", "misarranged"):
        return None
    same_input = _input_matches(ctx)
    std_r, std_p = float(np.std(r)), float(np.std(p))
    constant = std_p <= 1e-6 * max(std_r, float(np.abs(p).max(initial=0.0)))
    var_ratio = (std_p / std_r) ** 2
    zero_mean = abs(float(p.mean())) < 0.2 * std_p
    ref_biased = abs(float(r.mean())) > 0.5 * std_r
    flat_r = flat_p = None
    if ref.ndim and ref.shape[-1] >= 16:
        flat_r = spectral_flatness(crop_around(ref, -1, max_len=_SPECTRUM_LEN))
        flat_p = spectral_flatness(crop_around(port, -1, max_len=_SPECTRUM_LEN))
    flatter = flat_r is not None and flat_p is not None and flat_p > flat_r + 0.1
    evidence = []
    if weights == "unloaded":
        evidence.append("the module's weight differs from ref's entirely")
    if same_input:
        evidence.append("its input matches")
    if constant:
        evidence.append(f"the port's output is constant ({fmt(float(p.mean()))})")
    if zero_mean and ref_biased:
        evidence.append(f"zero-mean port vs ref mean {fmt(float(r.mean()))}")
    if flatter:
        evidence.append(f"flatter spectrum ({fmt(flat_p)} vs {fmt(flat_r)})")
    if not (same_input or weights == "unloaded"):
        if not (constant or (zero_mean and ref_biased)):
            return None
        conf = 0.45
    else:
        conf = 0.75 + 0.05 * sum((constant, zero_mean and ref_biased, flatter,
                                  weights == "unloaded"))
    if 0.7 < var_ratio < 1.4 and not constant and weights != "unloaded":
        conf -= 0.2  # same variance: more like weights loaded in the wrong arrangement
        evidence.append("same variance (weights may be loaded but misarranged)")
    return Finding("weights_not_loaded", conf,
                   f"output uncorrelated with ref (corr {fmt(corr)}, variance ratio "
                   f"{fmt(var_ratio)}): " + ", ".join(evidence),
                   {"correlation": corr, "variance_ratio": var_ratio,
                    "input_matches": same_input, "constant": constant,
                    "spectral_flatness": [flat_r, flat_p], "weight_check": weights},
                   "the port's weights for this module were never loaded (still at init): "
                   "check key prefixes/renames in the loader and load strictly (fail on "
                   "missing or unused keys)")
