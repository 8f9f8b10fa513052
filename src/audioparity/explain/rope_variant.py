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
from .attention_math import Hypothesis, base_of, describe, fit_attention
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
    rotate_partial,
    rotated_rows,
    tables,
)

__all__ = ["half_split", "interleaved", "match"]

def _describe(best: dict, method: str) -> Finding:
    ref_v, port_v, res, base_res = best["ref"], best["port"], best["res"], best["base_res"]
    if best.get("rotary_dim_port"):
        what = (f"port rotates the first {best['rotary_dim_port']} dims, ref the first "
                f"{best['rotary_dim_ref']} ({ref_v})")
        hint = ("rotate as many dims as the reference (partial_rotary_factor / rotary_dim), "
                "the rest passed through")
    elif ref_v != port_v:
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
                    "port_base": best.get("port_base"), "method": method, "residual": res,
                    **{k: best[k] for k in ("rotary_dim_ref", "rotary_dim_port")
                       if k in best}},
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


def _from_attention(hit: Hypothesis) -> Finding:
    p = hit.params
    if p.get("rotary_dim_port"):
        hint = (f"rotate only the dims the reference rotates: the port rotates "
                f"{p['rotary_dim_port']} of {p['rotary_dim_ref']} (partial_rotary_factor)")
    elif p["port"] != p["ref"]:
        hint = ("use the reference's pairing: HF rotate_half pairs (i, i+D/2) — e.g. Candle "
                "rope_slow, not rope" if p["ref"] == "half-split" else
                "use interleaved pairs (2i, 2i+1) as the reference does")
    else:
        hint = "use the reference's rope_theta"
    where = {"q": "on q only: k is rotated right", "k": "on k only: q is rotated right",
             "both": "on q and k"}[p["applied_to"]]
    return Finding("rope_variant", 0.95 * fit_quality(hit.residual, 0.01), describe(hit),
                   {**p, "method": "attention rebuilt from recorded q, k, v",
                    "residual": hit.residual}, f"{hint} ({where})")


def _partial_from_outputs(r: np.ndarray, p: np.ndarray) -> dict | None:
    """A port that rotates another number of dims (partial rotary) than the reference."""
    d = r.shape[-1]
    dims = [x for x in (d, d // 2, d // 4) if x >= 2 and x % 2 == 0]
    best = None
    for base in BASES:
        for variant in VARIANTS:
            for ref_dim in dims:
                x = rotate_partial(r, ref_dim, base, variant, inverse=True)
                for port_dim in dims:
                    if port_dim == ref_dim:
                        continue
                    res = residual(p, rotate_partial(x, port_dim, base, variant))
                    if best is None or res < best["res"]:
                        best = {"ref": variant, "port": variant, "res": res,
                                "ref_base": base, "port_base": base,
                                "rotary_dim_ref": ref_dim, "rotary_dim_port": port_dim}
    return best


def _rotation_only(r: np.ndarray, p: np.ndarray, base_res: float) -> Finding | None:
    """Rows keep their norms, position 0 is exact, later ones differ: some rotary form
    differs, though none of those tried fits."""
    if residual(p[..., :1, :], r[..., :1, :]) > 1e-4:
        return None
    return Finding("rope_variant", 0.5,
                   f"every row keeps its norm while the rows differ (residual {fmt(base_res)}) "
                   "and position 0 is exact: the port rotates the rows in another way (RoPE "
                   "pairing, base, rotary dim or positions); no form tried fits exactly",
                   {"ref": None, "port": None, "method": "rows rotated, form not fitted"},
                   "compare the port's rotary embedding with the reference's: pairing "
                   "(rotate_half vs interleaved), rope_theta, partial rotary dims, positions")


@signature("rope_variant", dtypes="float")
def match(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Finding | None:
    hit = fit_attention(ref, port, ctx)
    if hit is not None:
        return _from_attention(hit) if hit.cause == "rope_variant" else None
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
            flat_cos = np.asarray(cos).reshape(-1, *np.shape(cos)[-2:])[0]
            tabs = [(base_of(flat_cos), cos, sin)]
            method = "from the recorded input and cos/sin"
        else:
            t, d = x.shape[-2], x.shape[-1]
            tabs = [(b, *tables(np.arange(t), d, b)) for b in BASES]
            method = "from the recorded input, cos/sin rebuilt for positions 0..T-1"
        best = _from_input(x, r, p, tabs)
    if best is None:
        best = _from_outputs(r, p)
        method = "from outputs only, positions 0..T-1, bases 1e4/5e5/1e6 tried"
    rotated = rotated_rows(r, p)
    if rotated and (best is None or best["res"] > 1e-3):
        partial = _partial_from_outputs(r, p)
        if partial is not None and (best is None or partial["res"] < best["res"]):
            best = partial
            method = "from outputs only, rotary dims D, D/2, D/4 tried"
    if best is None or best["res"] > 0.05 or base_res < 4 * best["res"]:
        return _rotation_only(r, p, base_res) if rotated else None
    best["base_res"] = base_res
    return _describe(best, method)
