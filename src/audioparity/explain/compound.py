"""Compound differences: one relation explains most of the difference and something
structured is left. Run by the engine when no signature fits the pair as a whole.

mlx-audio's ISTFT differed from PyTorch's in three ways at once (a window-sum normalisation
×0.75, a symmetric instead of a periodic Hann window, the DC/Nyquist bins): no single
signature fits, yet "scale ≈ 0.75, plus a residual shaped like the window difference" is
most of the answer. The primary relation (``port = c·ref``, then ``port = a·ref + b``) must
explain at least :data:`MIN_SHARE` of the difference's energy; what is left is explained by
the catalogue when a signature fits it (after undoing the primary), else by a rebuild of an
ISTFT whose input was recorded (window shape, DC/Nyquist bins), else described. The finding
is the primary's cause, with ``params["parts"]`` ranked by the share each explains.

Example
-------
>>> t = np.arange(4000)
>>> ref = np.sin(0.05 * t)[None]
>>> port = 0.75 * ref + 0.02 * np.sin(0.8 * t)[None]   # a gain and a tone left over
>>> f = compound(ref, port, ExplainContext())
>>> f.cause, round(f.params["parts"][0]["share"], 2)
('scale', 0.99)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .arrays import fmt, paired_sample, rel_l2, residual
from .constants import nearest_constant
from .finding import ExplainContext, Finding

#: Share of the difference's energy the primary relation must explain.
MIN_SHARE = 0.75
#: Confidence of a compound finding: a real relation, not the whole story.
CONFIDENCE = 0.4


def _primary(r: np.ndarray, p: np.ndarray) -> tuple[str, dict, np.ndarray, str] | None:
    """The best of ``port = c·ref`` and ``port = a·ref + b`` on a flat sample, with the
    port mapped back into the reference's scale."""
    rr = float(np.dot(r, r))
    if rr == 0:
        return None
    c = float(np.dot(r, p) / rr)
    if abs(c) < 1e-6 or abs(c - 1.0) < 0.01:
        return None
    a, b = np.polyfit(r, p, 1)
    res_c, res_ab = residual(p, c * r), residual(p, a * r + b)
    if res_ab < 0.5 * res_c and abs(b) > 1e-3 * float(np.std(r)):
        return ("affine", {"a": float(a), "b": float(b)},
                lambda x: (x - b) / a, f"port ≈ {fmt(float(a))} × ref + {fmt(float(b))}")
    const = nearest_constant(c)
    named = f" ≈ {const}" if const else ""
    return ("scale", {"c": c, "constant": const}, lambda x: x / c,
            f"port ≈ ref × {fmt(c)}{named}")


def compound(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext,
             rest: Callable[[np.ndarray, np.ndarray], list[Finding]] | None = None
             ) -> Finding | None:
    """A compound finding for a same-shape float pair, or None.

    ``rest(ref, undone_port)`` runs the catalogue on what the primary leaves (the engine
    passes its own runner; None skips that step)."""
    if ref.shape != port.shape or ref.dtype.kind != "f" or port.dtype.kind != "f":
        return None
    r, p = paired_sample(ref, port)
    base = rel_l2(r, p)
    found = _primary(r, p)
    if found is None or base == 0:
        return None
    cause, params, undo, words = found
    undone = undo(np.asarray(port, dtype=np.float64))
    left = rel_l2(r, undo(p))
    # share of the difference's energy the primary explains
    share = 1.0 - (left * np.sqrt(float(np.dot(r, r)))) ** 2 / max(
        float(np.dot(p - r, p - r)), 1e-300)
    if share < MIN_SHARE or left > 0.5:
        return None
    parts = [{"cause": cause, "share": share, **params}]
    rest_words = _rest(ref, undone, ctx, rest, left, parts, share)
    detail = (f"{words} explains {share:.0%} of the difference; what is left "
              f"(rel L2 {fmt(left)} after undoing it): {rest_words}")
    hint = ("two things differ: fix the " + cause + " first (" + words.replace("port ≈ ", "")
            + "), then compare again for the rest")
    return Finding(cause, CONFIDENCE, detail,
                   {**params, "compound": True, "parts": parts, "residual": left}, hint)


def _rest(ref: np.ndarray, undone: np.ndarray, ctx: ExplainContext,
          rest: Callable | None, left: float, parts: list[dict], share: float) -> str:
    from .istft_window import window_difference  # a residual form with its own maths

    remaining = 1.0 - share
    form = window_difference(ref, undone, ctx)
    if form is not None:
        parts.append({"form": "istft_window", "share": remaining * form["explained"],
                      **form})
        return form["words"]
    if rest is not None:
        for f in rest(ref, undone.astype(ref.dtype)):
            if f.cause != "unknown" and f.confidence >= 0.5:
                parts.append({"cause": f.cause, "share": remaining, "detail": f.detail,
                              "params": f.params})
                return f"{f.cause}: {f.detail}"
    d = undone - np.asarray(ref, dtype=np.float64)
    flat = _flatness(d)
    kind = "noise-like" if flat is not None and flat > 0.5 else "structured"
    parts.append({"form": "unexplained", "share": remaining, "flatness": flat})
    return f"{kind} (error spectral flatness {fmt(flat) if flat is not None else '?'})"


def _flatness(d: np.ndarray) -> float | None:
    from .arrays import spectral_flatness

    return spectral_flatness(d[..., : 1 << 14]) if d.ndim else None
