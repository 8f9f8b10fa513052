"""Attention recomputed from what a trace recorded around it, to tell apart the bugs that all
look like "position 0 exact, error from position 1 on" at an attention output: a RoPE form
(pairing, base, rotary dim — on q, on k or on both), a mask (window, causal or not), GQA kv
heads tiled instead of repeated.

The layer's recorded tensors are found by name from the explained one (``P.o_proj``,
``P.o_proj:in0`` — or ``out_proj`` / ``c_proj`` — or ``P`` itself, with ``P`` the attention
module's path): q and k before the rotation (the rotary call's ``:in0``/``:in1``, else
``P.q_norm``/``P.k_norm``), v (``P.v_proj``), optionally cos/sin (``:in2``/``:in3``) and the
output projection's weight (``P.o_proj.weight``) when the explained tensor is after it; or a
fused q|k|v projection (``P.att_proj`` as in Bark, ``P.c_attn`` as in GPT-2, ``P.qkv_proj``,
``P.qkv``, ``P.Wqkv``) split in thirds, every plausible head count tried. The reference's
attention is rebuilt first (causal or not; no RoPE, or RoPE half-split or interleaved, bases
1e4/5e5/1e6); only when that reproduces the reference's tensor are the port hypotheses tried,
and the best one must reproduce the port's tensor and beat every other family clearly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .arrays import residual
from .finding import ExplainContext
from .rope_math import BASES, VARIANTS, tables

#: Longest sequence recomputed (scores are T×T per head).
MAX_T = 256
#: Residual up to which a rebuilt tensor counts as reproducing a recorded one.
REBUILT = 1e-3
#: Residual of a rebuild exact to float32 rounding: the search over readings stops there.
_EXACT_REBUILD = 1e-5
_WINDOWS = (1, 2, 3, 4, 8, 16, 32, 64, 128, 256)
#: Fused q|k|v projections (q, k and v concatenated on the last axis), by module name.
_FUSED_QKV = ("att_proj", "c_attn", "qkv_proj", "qkv", "Wqkv")
#: Head sizes tried when a fused projection is split into heads (the trace does not say).
_HEAD_DIMS = (16, 32, 64, 80, 96, 128, 256)
_LAST: dict[str, tuple] = {}


@dataclass
class Hypothesis:
    """The port form that reproduces the port's tensor, and how well."""

    cause: str
    params: dict
    words: str
    residual: float
    runner_up: float
    runner_up_words: str = ""
    ref_form: dict = field(default_factory=dict)


def _prefix(name: str) -> tuple[str, bool] | None:
    """The attention module's path and whether the explained tensor is after o_proj."""
    m = re.fullmatch(r"(.+)\.(?:o_proj|out_proj|c_proj)(:in0)?", name)
    if m:
        return m.group(1), m.group(2) is None
    if re.search(r"(self_attn|attn|attention)$", name):
        return name, True
    return None


def _get(ctx: ExplainContext, name: str) -> np.ndarray | None:
    try:
        value = ctx.get_ref(name)
    except (KeyError, OSError, ValueError):
        value = None
    return None if value is None else np.asarray(value, dtype=np.float64)


def _heads_first(x: np.ndarray | None, heads_last: bool) -> np.ndarray | None:
    """[B, T, H, D] -> [B, H, T, D] when recorded per token."""
    if x is None or x.ndim != 4:
        return None
    return x.transpose(0, 2, 1, 3) if heads_last else x


def _inputs(ctx: ExplainContext, p: str) -> list[dict]:
    """Every reading of the layer's recorded q, k, v (one, or one per head count of a fused
    projection), each ``{"q", "k", "v" ([B, H, T, D]), "cos", "sin", "w_o"}``."""
    w_o = _get(ctx, f"{p}.o_proj.weight")
    if w_o is None:
        w_o = _get(ctx, f"{p}.out_proj.weight")
    separate = _separate_qkv(ctx, p)
    if separate is not None:
        return [{**separate, "w_o": w_o}]
    return [{"q": q, "k": k, "v": v, "cos": None, "sin": None, "w_o": w_o}
            for q, k, v in _fused_qkv(ctx, p)]


def _separate_qkv(ctx: ExplainContext, p: str) -> dict | None:
    """q, k from the rotary call's inputs (or q_norm/k_norm), v from ``v_proj``."""
    rope = f"{p}.apply_rotary_pos_emb"
    q, k = _get(ctx, f"{rope}:in0"), _get(ctx, f"{rope}:in1")
    if q is None or k is None:
        q = _heads_first(_get(ctx, f"{p}.q_norm"), True)
        k = _heads_first(_get(ctx, f"{p}.k_norm"), True)
    if q is None or k is None or q.ndim != 4 or k.ndim != 4:
        return None
    b, h, t, d = q.shape
    v = _get(ctx, f"{p}.v_proj")
    if v is None or t > MAX_T or v.size != b * t * k.shape[1] * d:
        return None
    v = v.reshape(b, t, k.shape[1], d).transpose(0, 2, 1, 3)
    if h % k.shape[1]:
        return None
    cos, sin = _get(ctx, f"{rope}:in2"), _get(ctx, f"{rope}:in3")
    if cos is not None and sin is not None and cos.shape[-2:] == (t, d):
        cos, sin = cos.reshape(-1, t, d)[0], sin.reshape(-1, t, d)[0]
    else:
        cos = sin = None
    return {"q": q, "k": k, "v": v, "cos": cos, "sin": sin}


def _fused_qkv(ctx: ExplainContext, p: str) -> list[tuple[np.ndarray, ...]]:
    """(q, k, v) as [B, H, T, D] from a recorded fused projection [B, T, 3·C], for every
    head size in :data:`_HEAD_DIMS` that divides C (the head count is not recorded)."""
    for name in _FUSED_QKV:
        qkv = _get(ctx, f"{p}.{name}")
        if qkv is None or qkv.ndim != 3 or qkv.shape[-1] % 3 or qkv.shape[1] > MAX_T:
            continue
        b, t, c = qkv.shape[0], qkv.shape[1], qkv.shape[-1] // 3
        split = np.split(qkv, 3, axis=-1)
        return [tuple(x.reshape(b, t, c // d, d).transpose(0, 2, 1, 3) for x in split)
                for d in _HEAD_DIMS if d <= c and c % d == 0]
    return []


def _rotate(x: np.ndarray, form: dict) -> np.ndarray:
    """Apply a RoPE form ``{"variant", "base", "dim", "cos", "sin"}`` to [B, H, T, D]
    (variant ``"none"``: the layer has no rotary embedding, ``x`` unchanged)."""
    if form["variant"] == "none":
        return x
    t, d = x.shape[-2], x.shape[-1]
    dim = form.get("dim") or d
    cos, sin = form.get("cos"), form.get("sin")
    if cos is None or dim != d:
        cos, sin = tables(np.arange(t), dim, form["base"])
    out = VARIANTS[form["variant"]](x[..., :dim], cos, sin)
    return out if dim == d else np.concatenate([out, x[..., dim:]], axis=-1)


def attend(q: np.ndarray, k: np.ndarray, v: np.ndarray, *, causal: bool = True,
           window: int | None = None, kv_map: np.ndarray | None = None,
           added: bool = False) -> np.ndarray:
    """softmax(q kᵀ / sqrt(D) + mask) v for [B, H, T, D] q and [B, Hkv, T, D] k, v;
    ``kv_map[h]`` is the kv head query head ``h`` reads (default: repeated per group).
    ``added``: the keep mask is added to the scores as 0/1 floats (+1 where kept, +0 where
    masked) instead of masking — a boolean mask cast to float and handed to an additive
    ``mask=`` argument: nothing is masked."""
    h, hkv, t = q.shape[1], k.shape[1], q.shape[2]
    if kv_map is None:
        kv_map = np.arange(h) // (h // hkv)
    k, v = k[:, kv_map], v[:, kv_map]
    scores = q @ k.swapaxes(-1, -2) / np.sqrt(q.shape[-1])
    i, j = np.arange(t)[:, None], np.arange(t)[None]
    keep = (j <= i) if causal else np.ones((t, t), bool)
    if window is not None:
        keep = keep & ((i - j) < window)
    scores = scores + keep if added else np.where(keep, scores, -np.inf)
    scores -= scores.max(axis=-1, keepdims=True)
    w = np.exp(scores)
    return (w / w.sum(axis=-1, keepdims=True)) @ v


def _output(core: np.ndarray, shape: tuple[int, ...], w_o: np.ndarray | None,
            projected: bool) -> np.ndarray | None:
    """The attention result [B, H, T, D] in the explained tensor's form."""
    b, h, t, d = core.shape
    flat = core.transpose(0, 2, 1, 3).reshape(b, t, h * d)
    if projected:
        if w_o is None or w_o.shape != (shape[-1], h * d):
            return None
        flat = flat @ w_o.T
    for form in (flat, core, core.transpose(0, 2, 1, 3)):
        if form.shape == tuple(shape):
            return form
    return None


def base_of(cos: np.ndarray) -> float | None:
    """The base among :data:`BASES` whose table is the recorded ``cos``, or None."""
    t, d = cos.shape
    return next((b for b in BASES if np.allclose(tables(np.arange(t), d, b)[0], cos,
                                                 atol=1e-4)), None)


def _ref_forms(inp: dict) -> list[dict]:
    if inp["cos"] is not None:
        base = base_of(inp["cos"])
        return [{"variant": v, "cos": inp["cos"], "sin": inp["sin"], "base": base}
                for v in VARIANTS]
    return [{"variant": "none", "base": None}] + [
        {"variant": v, "base": b} for v in VARIANTS for b in BASES]


def _port_hypotheses(ref_form: dict, t: int, d: int, hkv: int, h: int):
    """(cause, params, words, kwargs for q/k forms and attend) for every port form tried."""
    if ref_form["variant"] != "none":
        yield from _rope_hypotheses(ref_form, d)
    yield ("mask", {"kind": "bidirectional"}, "no causal mask (bidirectional attention)",
           {"causal": False})
    yield ("mask", {"kind": "float_added"},
           ("the causal mask added to the scores as 0/1 floats (+1 where allowed, +0 on "
            "future keys: not applied)"), {"added": True})
    for w in _WINDOWS:
        if w < t:
            yield ("mask", {"kind": "window", "k": w},
                   f"a sliding window of {w} applied (positions < {w} exact)", {"window": w})
    if 1 < hkv < h:
        tiled = np.arange(h) % hkv
        yield ("permutation", {"axis": "kv_heads", "order": tiled.tolist(),
                               "expected": (np.arange(h) // (h // hkv)).tolist()},
               (f"kv heads tiled {tiled.tolist()} instead of repeated "
                f"{(np.arange(h) // (h // hkv)).tolist()} (GQA)"), {"kv_map": tiled})


def _rope_hypotheses(ref_form: dict, d: int):
    """The RoPE forms a port may use instead of the reference's, on q, k or both."""
    base = ref_form["base"]
    other_variant = next(v for v in VARIANTS if v != ref_form["variant"])
    rope_forms = [({"variant": other_variant, "base": base, "cos": ref_form.get("cos"),
                    "sin": ref_form.get("sin")},
                   {"port": other_variant, "ref": ref_form["variant"], "ref_base": base,
                    "port_base": base},
                   f"{other_variant} RoPE instead of {ref_form['variant']}")]
    bases = BASES if base is not None else ()
    for b in bases:
        if b != base:
            rope_forms.append(({"variant": ref_form["variant"], "base": b},
                               {"port": ref_form["variant"], "ref": ref_form["variant"],
                                "ref_base": base, "port_base": b},
                               f"RoPE base {b:.0e} instead of {base:.0e}"))
    for dim in (d // 2, d // 4):
        if dim >= 2 and dim % 2 == 0 and base is not None:
            rope_forms.append(({"variant": ref_form["variant"], "base": base, "dim": dim},
                               {"port": ref_form["variant"], "ref": ref_form["variant"],
                                "ref_base": base, "port_base": base,
                                "rotary_dim_port": dim, "rotary_dim_ref": d},
                               f"RoPE on the first {dim} of {d} dims only (partial rotary)"))
    for form, params, words in rope_forms:
        for target in ("q", "k", "both"):
            yield ("rope_variant", {**params, "applied_to": target},
                   f"{words}, on {'q and k' if target == 'both' else target + ' only'}",
                   {"q_form": form if target in ("q", "both") else None,
                    "k_form": form if target in ("k", "both") else None})


def fit_attention(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Hypothesis | None:
    """The port form that rebuilds the port's attention tensor, or None (nothing recorded,
    the reference not reproduced, no form fits, or two families fit alike). Cached per pair."""
    last = _LAST.get("pair")
    if last is not None and last[0] is ref and last[1] is port and last[2] is ctx:
        return last[3]
    hit = _fit(np.asarray(ref, np.float64), np.asarray(port, np.float64), ctx)
    _LAST["pair"] = (ref, port, ctx, hit)  # the catalogue asks three times for one pair
    return hit


def _reference(ref: np.ndarray, candidates: list[dict], projected: bool
               ) -> tuple[dict, dict, bool] | None:
    """The recorded inputs, RoPE form and causality that rebuild the reference's tensor."""
    best, best_res = None, np.inf
    for inp in candidates:
        for form in _ref_forms(inp):
            qr, kr = _rotate(inp["q"], form), _rotate(inp["k"], form)
            for causal in (True, False):
                out = _output(attend(qr, kr, inp["v"], causal=causal), ref.shape,
                              inp["w_o"], projected)
                if out is None:
                    return None
                res = residual(ref, out)
                if res < best_res:
                    best, best_res = (inp, form, causal), res
                if best_res <= _EXACT_REBUILD:
                    return best  # float32 rounding: no other reading can do better
    return best if best_res <= REBUILT else None


def _fit(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Hypothesis | None:
    where = _prefix(ctx.name)
    if where is None or ref.shape != port.shape:
        return None
    p, projected = where
    found = _reference(ref, _inputs(ctx, p), projected)
    if found is None:
        return None
    inp, ref_form, ref_causal = found
    q, k, v = inp["q"], inp["k"], inp["v"]
    qr, kr = _rotate(q, ref_form), _rotate(k, ref_form)
    fits: list[tuple[float, str, dict, str]] = []
    h, hkv, t, d = q.shape[1], k.shape[1], q.shape[2], q.shape[3]
    for cause, params, words, kw in _port_hypotheses(ref_form, t, d, hkv, h):
        qf = _rotate(q, kw["q_form"]) if kw.get("q_form") else qr
        kf = _rotate(k, kw["k_form"]) if kw.get("k_form") else kr
        causal = kw.get("causal", ref_causal)
        if cause == "mask" and not ref_causal:
            if params["kind"] == "float_added":
                continue  # nothing to add: the reference masks nothing
            if params["kind"] == "bidirectional":
                causal, params, words = True, {"kind": "causal"}, \
                    "a causal mask where the reference attends both ways"
        out = _output(attend(qf, kf, v, causal=causal, window=kw.get("window"),
                             kv_map=kw.get("kv_map"), added=kw.get("added", False)),
                      ref.shape, inp["w_o"], projected)
        if out is not None:
            fits.append((residual(port, out), cause, params, words))
    if not fits:
        return None
    fits.sort(key=lambda f: f[0])
    res, cause, params, words = fits[0]
    other = next((f for f in fits[1:] if f[1] != cause), None)
    runner_up = other[0] if other else np.inf
    if res > 0.01 or runner_up < 4 * res:
        return None
    ref_words = {"variant": ref_form["variant"], "base": ref_form["base"],
                 "causal": ref_causal, "heads": h}
    return Hypothesis(cause, params, words, res, runner_up, other[3] if other else "",
                      ref_words)


def describe(hit: Hypothesis) -> str:
    """The detail line of a finding made from an attention fit."""
    ref = hit.ref_form
    rope = "no" if ref["variant"] == "none" else ref["variant"] + (
        "" if ref["base"] is None else f" base {ref['base']:.0e}")
    other = f"; next best: {hit.runner_up_words}, residual {hit.runner_up:.3g}" \
        if hit.runner_up_words else ""
    return (f"attention rebuilt from the recorded q, k, v (reference: {ref['heads']} heads, "
            f"{rope} RoPE, {'causal' if ref['causal'] else 'bidirectional'}): the port's "
            f"output is reproduced with {hit.words} (residual {hit.residual:.3g}{other})")
