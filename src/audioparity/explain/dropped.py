"""``dropped`` (an extension of SPEC's vocabulary): the port's tensor is constant — all zeros,
one value, or identical along an axis — where the reference's varies. Something the
reference feeds in never reached the port: an argument not passed (a runtime's zeros
default), text conditioning dropped, a branch skipped, one position broadcast to all.

Seed 004: the port's DiT ignored the prompt; the text embedding it cross-attended to was
zeros (the unconditional branch), so the conditioning projection's output had the same row
for every token. Evidence: the port is constant along an axis (to 1e-6 of the values'
scale) where the reference spreads over at least 5% of its range. When the module's input is
recorded on both sides and matches, the constant comes from the module itself (zero-init
weights), so this signature steps aside for ``weights_not_loaded``.

Example
-------
>>> text = np.random.default_rng(0).normal(size=(1, 6, 24))
>>> w = np.random.default_rng(1).normal(size=(24, 32))
>>> match(text @ w, np.zeros((1, 6, 24)) @ w, ExplainContext()).detail
'port is constant (0) where ref varies (std 4.754): its input never reached the port'
"""

from __future__ import annotations

import numpy as np

from .arrays import clearly_different, crop_around, fmt, paired_sample, rel_l2
from .finding import ExplainContext, Finding
from .registry import signature

#: The port counts as constant when its spread is at most this share of the values' scale.
_FLAT = 1e-6
#: The reference counts as varying when its spread reaches this share of its range.
_VARIES = 0.05

_HINT = ("the port's tensor carries nothing here: check that the input which varies along "
         "this axis (text/conditioning embedding, positions, timestep, the previous state) is "
         "actually passed and not left at a zeros default or skipped")


def _input_matches(ctx: ExplainContext) -> bool:
    ref_in = ctx.input(0, "ref")
    try:
        port_in = ctx.get_port(f"{ctx.name}:in0") if ctx.name else None
    except (KeyError, OSError, ValueError):
        port_in = None
    if ref_in is None or port_in is None or np.shape(ref_in) != np.shape(port_in):
        return False
    a, b = paired_sample(np.asarray(ref_in), np.asarray(port_in))
    return rel_l2(a, b) < 1e-2


def _spread(x: np.ndarray, axis: int) -> float:
    """Largest deviation from the first position along ``axis``."""
    return float(np.max(np.abs(x - np.take(x, [0], axis=axis)), initial=0.0))


def _flat_axes(ref: np.ndarray, port: np.ndarray, scale: float) -> list[tuple[int, float]]:
    """Axes along which the port is constant and the reference is not: (axis, ref spread)."""
    found = []
    for axis, n in enumerate(ref.shape):
        if n < 2:
            continue
        r, p = crop_around(ref, axis), crop_around(port, axis)
        spread_r = _spread(r, axis)
        if _spread(p, axis) <= _FLAT * scale and spread_r >= _VARIES * scale:
            found.append((axis, spread_r))
    return found


@signature("dropped", dtypes="float")
def match(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Finding | None:
    if ref.ndim == 0 or ref.size < 4:
        return None
    r, p = paired_sample(ref, port)
    scale = float(np.max(np.abs(r), initial=0.0))
    if scale == 0 or not np.all(np.isfinite(p)) or not clearly_different(r, p):
        return None
    if _input_matches(ctx):
        return None
    conf = 0.85 if ctx.previous_ok else 0.9
    if float(np.ptp(p)) <= _FLAT * scale and float(np.ptp(r)) >= _VARIES * scale:
        value = float(p[0])
        return Finding("dropped", conf, f"port is constant ({fmt(value)}) where ref varies "
                       f"(std {fmt(float(np.std(r)))}): its input never reached the port",
                       {"axis": None, "value": value}, _HINT)
    axes = _flat_axes(ref, port, scale)
    if not axes:
        return None
    axis, spread = max(axes, key=lambda a: a[1])
    return Finding("dropped", conf, f"port is identical along axis {axis} ({ref.shape[axis]} "
                   f"positions) where ref varies by {fmt(spread)} ({fmt(100 * spread / scale)}% "
                   "of its range): the input that varies along it never reached the port",
                   {"axis": axis, "axes": [a for a, _ in axes]}, _HINT)
