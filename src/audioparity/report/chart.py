"""The error-along-execution-order chart: inline SVG, built by hand (no plotting library).

One point per aligned pair in the reference's execution order: relative L2 error on a log
axis (left) and SNR in dB (right; already logarithmic). The first divergence is a red
vertical line; failing pairs are red dots. Every point carries a ``<title>`` (the browser's
tooltip) with the pair's name and numbers, so "where does it go off" is one hover away.
Every piece of text is escaped here: the result is :class:`markupsafe.Markup`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from markupsafe import Markup, escape

from .numbers import format_metric

WIDTH, HEIGHT = 960, 320
LEFT, RIGHT, TOP, BOTTOM = 70, 60, 44, 40
#: dots are drawn for every pair up to this many; above it only failing pairs get a dot
MAX_DOTS = 2000
#: SNR shown for an exact pair (infinite SNR) and the lowest decade of the rel-error axis
SNR_CAP_DB = 160.0
REL_FLOOR = 1e-12


@dataclass
class ChartPoint:
    """One aligned pair: ``rel_l2``/``snr_db`` None when the pair has no metrics (shapes)."""

    name: str
    rel_l2: float | None
    snr_db: float | None
    ok: bool


def number(value) -> float | None:
    """A JSON metric as a float: ``"inf"``/``"nan"`` strings (how ``--json`` writes them)
    become floats; None and anything else non-numeric stay None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _rel_range(points: list[ChartPoint]) -> tuple[int, int]:
    """Decades (log10) spanned by the positive finite rel errors, at least two."""
    vals = [p.rel_l2 for p in points if p.rel_l2 is not None and math.isfinite(p.rel_l2)
            and p.rel_l2 > 0]
    lo = math.floor(math.log10(max(min(vals), REL_FLOOR))) if vals else -8
    hi = math.ceil(math.log10(max(vals))) if vals else 0
    hi = max(hi, lo + 2)
    if any(p.rel_l2 is not None and not math.isfinite(p.rel_l2) for p in points):
        hi += 1  # room above for non-finite errors
    return lo, hi


def _snr_range(points: list[ChartPoint]) -> tuple[float, float]:
    vals = [min(p.snr_db, SNR_CAP_DB) for p in points
            if p.snr_db is not None and not math.isnan(p.snr_db)]
    vals = [v for v in vals if math.isfinite(v)]
    if not vals:
        return 0.0, 100.0
    lo, hi = math.floor(min(vals) / 20) * 20, math.ceil(max(vals) / 20) * 20
    return float(lo), float(max(hi, lo + 20))


def error_chart(points: list[ChartPoint], first_index: int | None,
                link_prefix: str = "") -> Markup:
    """The chart as an ``<svg>`` element (class ``error-chart``); empty markup for no points.

    With ``link_prefix``, each dot links to ``#{link_prefix}{index}`` (its table row).
    """
    if not points:
        return Markup("")
    n = len(points)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    lo, hi = _rel_range(points)
    s_lo, s_hi = _snr_range(points)

    def x(i: int) -> float:
        return LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y_rel(v: float) -> float:
        if not math.isfinite(v):
            return TOP
        d = math.log10(max(v, 10.0 ** lo))
        return TOP + plot_h * (hi - d) / (hi - lo)

    def y_snr(v: float) -> float:
        v = min(v, SNR_CAP_DB) if not math.isnan(v) else s_lo
        v = min(max(v, s_lo), s_hi)
        return TOP + plot_h * (s_hi - v) / (s_hi - s_lo)

    out = [(f'<svg class="error-chart" xmlns="http://www.w3.org/2000/svg" role="img" '
           f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" style="max-width:{WIDTH}px">'),
           '<title>relative error and SNR per aligned pair, in execution order</title>',
           (f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fbfbfb" '
           'stroke="#999"/>')]
    for d in range(lo, hi + 1):  # decade grid and left labels
        yy = TOP + plot_h * (hi - d) / (hi - lo)
        out.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{yy:.1f}" y2="{yy:.1f}" '
                   'stroke="#e4e4e4"/>')
        out.append(f'<text x="{LEFT - 6}" y="{yy + 4:.1f}" text-anchor="end" '
                   f'class="axis">1e{d}</text>')
    step = 20 if s_hi - s_lo <= 200 else 40
    v = s_lo
    while v <= s_hi:  # right axis: SNR dB
        out.append(f'<text x="{LEFT + plot_w + 6}" y="{y_snr(v) + 4:.1f}" class="axis snr">'
                   f'{v:.0f}</text>')
        v += step
    out.append(f'<text x="14" y="{TOP + plot_h / 2}" class="axis rel" transform="rotate(-90 '
               f'14 {TOP + plot_h / 2})" text-anchor="middle">rel L2 error (log)</text>')
    out.append(f'<text x="{WIDTH - 8}" y="{TOP + plot_h / 2}" class="axis snr" '
               f'transform="rotate(90 {WIDTH - 8} {TOP + plot_h / 2})" '
               'text-anchor="middle">SNR dB</text>')
    out.append(f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 8}" class="axis" '
               f'text-anchor="middle">aligned pair, in the reference\'s execution order '
               f'(0 … {n - 1})</text>')
    if first_index is not None and 0 <= first_index < n:
        fx = x(first_index)
        name = escape(points[first_index].name)
        anchor = "start" if first_index < n / 2 else "end"
        dx = 4 if anchor == "start" else -4
        out.append(f'<line class="first-divergence-mark" x1="{fx:.1f}" x2="{fx:.1f}" y1="{TOP}" '
                   f'y2="{TOP + plot_h}" stroke="#c00" stroke-width="2" '
                   'stroke-dasharray="5 3"/>')
        out.append(f'<text x="{fx + dx:.1f}" y="{TOP - 8}" text-anchor="{anchor}" '
                   f'class="mark">first divergence #{first_index}: {name}</text>')
    out.append(_polyline([(x(i), y_snr(p.snr_db)) for i, p in enumerate(points)
                          if p.snr_db is not None], "#e69500", dashed=True))
    out.append(_polyline([(x(i), y_rel(p.rel_l2)) for i, p in enumerate(points)
                          if p.rel_l2 is not None], "#1f5fbf"))
    for i, p in enumerate(points):
        if n > MAX_DOTS and p.ok:
            continue
        tip = escape(f"#{i} {p.name}: rel err {format_metric(p.rel_l2, '.3g')}, "
                     f"SNR {format_metric(p.snr_db, '.1f')} dB{'' if p.ok else ' (FAIL)'}")
        yy = y_rel(p.rel_l2) if p.rel_l2 is not None else TOP + plot_h
        color = "#1f5fbf" if p.ok else "#c00"
        r = 3 if p.ok else 4
        dot = (f'<circle cx="{x(i):.1f}" cy="{yy:.1f}" r="{r}" fill="{color}">'
               f'<title>{tip}</title></circle>')
        out.append(f'<a href="#{escape(link_prefix)}{i}">{dot}</a>' if link_prefix else dot)
    out.append(f'<g class="legend" transform="translate({LEFT + plot_w - 300},{TOP - 26})">'
               '<line x1="0" x2="18" y1="-4" y2="-4" stroke="#1f5fbf" stroke-width="2"/>'
               '<text x="22" y="0">rel L2 error</text>'
               '<line x1="110" x2="128" y1="-4" y2="-4" stroke="#e69500" stroke-width="2" '
               'stroke-dasharray="4 3"/><text x="132" y="0">SNR dB</text>'
               '<circle cx="210" cy="-4" r="4" fill="#c00"/><text x="218" y="0">failing '
               'pair</text></g>')
    out.append("</svg>")
    return Markup("\n".join(out))


def _polyline(xy: list[tuple[float, float]], color: str, dashed: bool = False) -> str:
    if not xy:
        return ""
    pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in xy)
    dash = ' stroke-dasharray="4 3"' if dashed else ""
    return (f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="1.5"'
            f'{dash}/>')


@dataclass
class StepPoint:
    """One generation step: KL(ref || port) in nats (None: not recorded), whether the argmax
    and the tokens agree (None: unknown), the two tokens (for the tooltip)."""

    step: int
    kl: float | None
    top1: bool | None
    tokens_equal: bool
    ref_token: str
    port_token: str


KL_FLOOR = 1e-12  # nats: an exact step is drawn at this floor


def step_chart(points: list[StepPoint], first_step: int | None, ref_steps: int,
               port_steps: int) -> Markup:
    """The generation's per-step chart as ``<svg class="step-chart">``: KL per step on a log
    axis (blue), a dot per step (red where the argmax or the token differs), a dashed red
    line at the first differing step, and where each side stopped. Empty for no points."""
    if not points:
        return Markup("")
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = max(ref_steps, port_steps, points[-1].step + 1)
    finite = [p.kl for p in points if p.kl is not None and math.isfinite(p.kl) and p.kl > 0]
    lo = math.floor(math.log10(max(min(finite), KL_FLOOR))) if finite else -12
    hi = max(math.ceil(math.log10(max(finite))) if finite else 0, lo + 2) + 1
    infinite = any(p.kl is not None and not math.isfinite(p.kl) for p in points)

    def x(step: float) -> float:
        return LEFT + (plot_w * step / (span - 1) if span > 1 else plot_w / 2)

    def y(kl: float | None) -> float:
        if kl is None:
            return TOP + plot_h
        if not math.isfinite(kl):
            return TOP
        return TOP + plot_h * (hi - math.log10(max(kl, 10.0 ** lo))) / (hi - lo)

    out = [(f'<svg class="step-chart" xmlns="http://www.w3.org/2000/svg" role="img" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" style="max-width:{WIDTH}px">'),
           '<title>KL divergence and agreement per generation step</title>',
           (f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fbfbfb" '
            'stroke="#999"/>')]
    for d in range(lo, hi + (0 if infinite else 1)):  # the top line reads inf when needed
        yy = TOP + plot_h * (hi - d) / (hi - lo)
        out.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{yy:.1f}" y2="{yy:.1f}" '
                   'stroke="#e4e4e4"/>')
        out.append(f'<text x="{LEFT - 6}" y="{yy + 4:.1f}" text-anchor="end" '
                   f'class="axis">1e{d}</text>')
    if infinite:
        out.append(f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end" class="axis">inf</text>')
    out.append(f'<text x="14" y="{TOP + plot_h / 2}" class="axis" transform="rotate(-90 14 '
               f'{TOP + plot_h / 2})" text-anchor="middle">KL(ref‖port) nats (log)</text>')
    out.append(f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 8}" class="axis" '
               f'text-anchor="middle">generation step (0 … {span - 1})</text>')
    for label, steps, color, dy in (("ref stops", ref_steps, "#070", 12),
                                    ("port stops", port_steps, "#a60", 24)):
        sx = x(steps - 1)
        out.append(f'<line class="stop-mark" x1="{sx:.1f}" x2="{sx:.1f}" y1="{TOP}" '
                   f'y2="{TOP + plot_h}" stroke="{color}" stroke-dasharray="2 3"/>')
        out.append(f'<text x="{sx - 4:.1f}" y="{TOP + plot_h - dy}" text-anchor="end" '
                   f'class="axis">{label} (step {steps - 1})</text>')
    if first_step is not None:
        fx = x(first_step)
        out.append(f'<line class="first-divergence-mark" x1="{fx:.1f}" x2="{fx:.1f}" '
                   f'y1="{TOP}" y2="{TOP + plot_h}" stroke="#c00" stroke-width="2" '
                   'stroke-dasharray="5 3"/>')
        out.append(f'<text x="{fx + 4:.1f}" y="{TOP - 8}" class="mark">first differing '
                   f'step {first_step}</text>')
    out.append(_polyline([(x(p.step), y(p.kl)) for p in points if p.kl is not None],
                         "#1f5fbf"))
    for p in points:
        good = p.tokens_equal and p.top1 is not False
        tip = escape(f"step {p.step}: ref {p.ref_token}, port {p.port_token}; KL "
                     f"{format_metric(p.kl, '.3g')} nats; argmax "
                     f"{'-' if p.top1 is None else ('same' if p.top1 else 'differs')}")
        out.append(f'<circle cx="{x(p.step):.1f}" cy="{y(p.kl):.1f}" r="{3 if good else 5}" '
                   f'fill="{"#1f5fbf" if good else "#c00"}"><title>{tip}</title></circle>')
    out.append("</svg>")
    return Markup("\n".join(out))
