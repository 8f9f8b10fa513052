"""``rope_variant``: the rotary embedding is applied in another form — interleaved pairs
``(2i, 2i+1)`` instead of HF's half-split ``(i, i + D/2)`` (or back), or with another base.

Seed 000: Candle's ``rope()`` is interleaved while HF Qwen3 uses ``rotate_half``; switching to
``rope_slow`` fixed it. Three ways in, best first: the recorded pre-rotary input and cos/sin
(``NAME:in0`` q or ``:in1`` k, ``:in2`` cos, ``:in3`` sin — HF ``apply_rotary_pos_emb``); the
input alone (cos/sin rebuilt for bases 1e4, 5e5, 1e6, positions 0..T-1); outputs only (undo one
variant, redo the other, for each base). The sequence axis is the one before ``head_dim``
(last); the detail says which way was used.

Example
-------
>>> from audioparity.explain.rope_math import tables
>>> q = np.random.default_rng(0).normal(size=(1, 2, 16, 32))
>>> cos, sin = tables(np.arange(16), 32, 1e4)
>>> match(half_split(q, cos, sin), interleaved(q, cos, sin), ExplainContext()).params["port"]
'interleaved'
"""

from __future__ import annotations

import numpy as np

from .arrays import clearly_different, fit_quality, fmt, residual
from .finding import ExplainContext, Finding
from .registry import signature
from .rope_math import (
    BASES,
    VARIANTS,
    crop_heads,
    half_split,
    interleaved,
    recorded_rotation,
    rotate,
    tables,
)

__all__ = ["half_split", "interleaved", "match"]

def _describe(best: dict, method: str) -> Finding:
    ref_v, port_v, res, base_res = best["ref"], best["port"], best["res"], best["base_res"]
    if ref_v != port_v:
        what = f"port applies {port_v} RoPE, ref {ref_v}"
        hint = ("use the reference's pairing: HF rotate_half pairs (i, i+D/2) — e.g. Candle "
                "rope_slow, not rope" if ref_v == "half-split" else
                "use interleaved pairs (2i, 2i+1) as the reference does")
    else:
        what = f"RoPE base differs: ref {best['ref_base']:.0e}, port {best['port_base']:.0e}"
        hint = "use the reference's rope_theta"
    bases = "" if best.get("ref_base") is None else \
        f", base {best['ref_base']:.0e}" + ("" if best["port_base"] == best["ref_base"]
                                            else f"/{best['port_base']:.0e}")
    return Finding("rope_variant", 0.95 * fit_quality(res),
                   f"{what} ({method}{bases}; residual {fmt(res)}, {fmt(base_res)} before)",
                   {"ref": ref_v, "port": port_v, "ref_base": best.get("ref_base"),
                    "port_base": best.get("port_base"), "method": method, "residual": res},
                   hint)


def _from_input(x: np.ndarray, r: np.ndarray, p: np.ndarray, tabs: list) -> dict | None:
    best = None
    for base, cos, sin in tabs:
        out = {v: f(x, cos, sin) for v, f in VARIANTS.items()}
        fits_r = {v: residual(r, o) for v, o in out.items()}
        fits_p = {v: residual(p, o) for v, o in out.items()}
        ref_v, port_v = min(fits_r, key=fits_r.get), min(fits_p, key=fits_p.get)
        res = max(fits_r[ref_v], fits_p[port_v])
        if ref_v != port_v and (best is None or res < best["res"]):
            best = {"ref": ref_v, "port": port_v, "res": res, "ref_base": base,
                    "port_base": base}
    return best


def _from_outputs(r: np.ndarray, p: np.ndarray) -> dict | None:
    t, d = r.shape[-2], r.shape[-1]
    tabs = {b: tables(np.arange(t), d, b) for b in BASES}
    best = None
    for ref_base, (cos_r, sin_r) in tabs.items():
        for ref_v in VARIANTS:
            x = rotate(r, cos_r, sin_r, ref_v, inverse=True)
            for port_base, (cos_p, sin_p) in tabs.items():
                for port_v in VARIANTS:
                    if ref_v == port_v and ref_base == port_base:
                        continue
                    res = residual(p, rotate(x, cos_p, sin_p, port_v))
                    if best is None or res < best["res"]:
                        best = {"ref": ref_v, "port": port_v, "res": res,
                                "ref_base": ref_base, "port_base": port_base}
    return best


@signature("rope_variant", dtypes="float")
def match(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Finding | None:
    if ref.ndim < 2 or ref.shape[-1] % 2 or ref.shape[-1] < 4 or ref.shape[-2] < 2:
        return None
    r, p = crop_heads(ref), crop_heads(port)
    if not clearly_different(r, p):
        return None
    base_res = residual(p, r)
    best, method = None, ""
    recorded = recorded_rotation(ctx, ref.shape)
    if recorded is not None:
        x, cos, sin = recorded
        if cos is not None:
            tabs = [(None, cos, sin)]
            method = "from the recorded input and cos/sin"
        else:
            t, d = x.shape[-2], x.shape[-1]
            tabs = [(b, *tables(np.arange(t), d, b)) for b in BASES]
            method = "from the recorded input, cos/sin rebuilt for positions 0..T-1"
        best = _from_input(x, r, p, tabs)
    if best is None:
        best = _from_outputs(r, p)
        method = "from outputs only, positions 0..T-1, bases 1e4/5e5/1e6 tried"
    if best is None or best["res"] > 0.05 or base_res < 4 * best["res"]:
        return None
    best["base_res"] = base_res
    return _describe(best, method)
