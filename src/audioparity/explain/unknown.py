"""``unknown``: no signature fits; describe the pattern so a person can take it from there —
correlation, variance ratio, mean offset, spectral flatness of the error, and where the error
concentrates (the first/last positions of an axis → padding; one slice → one head/channel).

Seed 002: "53% positive / 47% negative, zero-mean high-variance, flat frequency response" was
what the author had before finding the decoder's unloaded weights.

Example
-------
>>> rng = np.random.default_rng(0)
>>> ref = rng.normal(size=(4, 64)); port = ref.copy(); port[2] += rng.normal(size=64)
>>> match(ref, port, ExplainContext()).params["concentration"]["axis"]
0
"""

from __future__ import annotations

import numpy as np

from .arrays import (
    correlation,
    crop_around,
    fmt,
    paired_sample,
    rel_l2,
    rows_along,
    spectral_flatness,
)
from .finding import ExplainContext, Finding
from .istft_window import window_difference
from .registry import signature


def concentration(ref: np.ndarray, port: np.ndarray) -> dict | None:
    """Where the error energy sits: the axis and slice (or edge) holding most of it."""
    best = None
    for axis in range(ref.ndim):
        n = ref.shape[axis]
        if n < 2:
            continue
        d = rows_along(crop_around(port, axis) - crop_around(ref, axis), axis)
        energy = np.sum(d * d, axis=1)
        total = float(energy.sum())
        if total == 0:
            continue
        share = energy / total
        i = int(np.argmax(share))
        if n >= 3 and share[i] > max(0.5, 3.0 / n):
            cand = {"axis": axis, "where": "slice", "index": i, "share": float(share[i])}
        else:
            edge = max(1, n // 20)
            first, last = float(share[:edge].sum()), float(share[-edge:].sum())
            if min(first, last) >= 0.2:
                where, s = "first and last", first + last
            else:
                where, s = ("first", first) if first >= last else ("last", last)
            if n < 10 or s < max(0.5, 8 * edge / n):
                continue
            cand = {"axis": axis, "where": where, "positions": edge, "share": s}
        if best is None or cand["share"] > best["share"]:
            best = cand
    return best


_SPECTRUM_LEN = 1 << 14


def _shape_reason(ref: np.ndarray, port: np.ndarray) -> str:
    """Why a shape-mismatched pair was not fitted, in a few words."""
    if ref.ndim != port.ndim:
        return f"{ref.ndim} vs {port.ndim} axes"
    axes = [a for a in range(ref.ndim) if ref.shape[a] != port.shape[a]]
    if len(axes) > 1:
        return f"{len(axes)} axes differ ({', '.join(map(str, axes))})"
    n_r, n_p = ref.shape[axes[0]], port.shape[axes[0]]
    if min(n_r, n_p) < 0.5 * max(n_r, n_p):
        return f"axis {axes[0]} lengths {n_r} vs {n_p} differ by more than half"
    if ref.dtype.kind != "f" or port.dtype.kind != "f":
        return f"axis {axes[0]} lengths differ and the values are {ref.dtype}/{port.dtype}, " \
               "not float: no overlap fitted"
    if not (np.any(ref) and np.any(port)):
        return f"axis {axes[0]} lengths differ and one side is all zero (or non-finite)"
    return f"axis {axes[0]} lengths {n_r} vs {n_p}: no overlap at the start, end or centre " \
           "matches and no shift fits"


@signature("unknown", same_shape=False)
def match(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Finding:
    shapes = f"ref {list(ref.shape)} {ref.dtype}, port {list(port.shape)} {port.dtype}"
    if ref.shape != port.shape:
        why = _shape_reason(ref, port)
        return Finding("unknown", 0.05, f"shapes differ and no signature relates them "
                       f"({why}): {shapes}", {"ref_shape": list(ref.shape),
                                              "port_shape": list(port.shape), "reason": why},
                       "check that both dumps hold the same tensor (name mapping, "
                       "batch/time cropping, a missing or extra axis)")
    r, p = paired_sample(ref, port)
    d = p - r
    corr = correlation(r, p)
    std_r = float(np.std(r))
    var_ratio = (float(np.std(p)) / std_r) ** 2 if std_r > 0 else float("inf")
    bias = float(d.mean())
    flat = spectral_flatness(crop_around(port, -1, max_len=_SPECTRUM_LEN)
                             - crop_around(ref, -1, max_len=_SPECTRUM_LEN)) if ref.ndim else None
    conc = concentration(ref, port) if ref.ndim else None
    parts = [f"rel L2 {fmt(rel_l2(r, p))}", f"corr {fmt(corr)}",
             f"variance ratio port/ref {fmt(var_ratio)}",
             f"mean error {fmt(bias)} ({fmt(bias / std_r) if std_r else '?'} ref std)"]
    if flat is not None:
        kind = "white-noise-like" if flat > 0.5 else "structured"
        parts.append(f"error spectral flatness {fmt(flat)} ({kind})")
    hint = "no known signature fits: isolate this module (run it on the reference's inputs)"
    istft = window_difference(ref, port, ctx)
    if istft is not None:
        parts.append(istft["words"])
        hint = "make the port's ISTFT match the reference's: " + "; ".join(
            istft["differences"])
    rounding_sized = bool(istft is None and flat is not None and flat > 0.5
                          and rel_l2(r, p) <= 2.5e-2 and abs(correlation(d, r)) < 0.5)
    if rounding_sized:
        parts.append("noise-like and as small as bf16/f16 rounding leaves, but both sides are "
                     f"stored as {ref.dtype}/{port.dtype} and nothing records a lower "
                     "compute dtype")
        hint += ("; if either side computes in bf16/f16, record that dtype in the trace "
                 "(then this is named precision)")
    if conc is not None:
        if conc["where"] == "slice":
            parts.append(f"{conc['share']:.0%} of the error in slice {conc['index']} of axis "
                         f"{conc['axis']} (one head/channel/codebook)")
            hint += f"; look at what is special about index {conc['index']} of axis " \
                    f"{conc['axis']}"
        else:
            parts.append(f"{conc['share']:.0%} of the error in the {conc['where']} "
                         f"{conc['positions']} positions of axis {conc['axis']} (padding?)")
            hint += "; the edges differ: check padding and trimming"
    return Finding("unknown", 0.05, "; ".join(parts),
                   {"rel_l2": rel_l2(r, p), "correlation": corr, "variance_ratio": var_ratio,
                    "mean_error": bias, "error_flatness": flat, "concentration": conc,
                    "rounding_sized": rounding_sized,
                    "istft_form": None if istft is None else
                    {k: istft[k] for k in ("differences", "ref_form", "port_form", "gain")}},
                   hint)
