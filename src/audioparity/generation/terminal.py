"""The generation section of ``audioparity compare`` in the terminal: a per-step table
around the first differing step, the stop of each side, the length ratio, why, notes."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..report.numbers import format_metric
from .compare import GenerationComparison, stops_differ
from .draws import DrawsComparison

#: steps shown before each first differing step; the last steps shown when all agree
STEPS_BEFORE, STEPS_SHOWN = 4, 12
#: stop lines of a batch's other sequences (those that stop unlike sequence 0 or unlike
#: the reference) shown before the rest are counted
STOPS_SHOWN = 8


def _marks(gen: GenerationComparison) -> set[int]:
    """Steps where something first differs: the logits, the argmax, the token."""
    return {m["step"] for m in (gen.first_logits_divergence, gen.first_argmax_mismatch,
                                gen.first_token_mismatch) if m}


def _shown(gen: GenerationComparison) -> list[int]:
    """Indices into ``gen.steps`` to show: each first difference and the few steps before
    it; the last steps when everything agrees."""
    n = len(gen.steps)
    if not _marks(gen):
        return list(range(max(0, n - STEPS_SHOWN), n))
    return sorted({i for m in _marks(gen) for i in range(max(0, m - STEPS_BEFORE), m + 1)
                   if i < n})


def step_table(gen: GenerationComparison) -> Table:
    """Rows: step | ref token | port token | top-1 | top-k overlap | KL nats | max |Δ|."""
    table = Table(title="Generation, per step", header_style="bold")
    for col, justify in (("step", "right"), ("ref token", "right"), ("port token", "right"),
                         ("top-1", "left"), ("top-k", "right"), ("KL nats", "right"),
                         ("max |Δ|", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    first = _marks(gen)
    for i in _shown(gen):
        s = gen.steps[i]
        top1 = "-" if s.top1 is None else ("same" if s.top1 else "DIFF")
        tokens = [", ".join(map(str, t)) for t in (s.ref_tokens, s.port_tokens)]
        table.add_row(str(s.step), *tokens, Text(top1, style="green" if s.top1 else "red"),
                      format_metric(s.topk_overlap, ".2f"), format_metric(s.kl, ".3g"),
                      format_metric(s.max_abs, ".3g"),
                      style="bold red" if s.step in first else "")
    return table


def stop_lines(gen: GenerationComparison) -> list[str]:
    """``stop: ref …; port …; length ratio …`` for sequence 0, and in a batch one line for
    each other sequence that stops unlike sequence 0 or unlike the reference (at most
    :data:`STOPS_SHOWN`, the rest counted)."""
    pairs = gen.stop_pairs
    which = ", sequence 0" if len(pairs) > 1 else ""
    first = (f"stop{which}: ref {gen.ref_stop.describe()}; port {gen.port_stop.describe()}; "
             f"length ratio {gen.length_ratio:.2f}")
    lines = [first]
    others = [(b, r, p) for b, r, p in pairs[1:]
              if stops_differ(r, p) or stops_differ(r, gen.ref_stop)]
    for b, r, p in others[:STOPS_SHOWN]:
        lines.append(f"stop, sequence {b}: ref {r.describe()}; port {p.describe()}"
                     if stops_differ(r, p) else f"stop, sequence {b}: ref and port {r.describe()}")
    if len(others) > STOPS_SHOWN:
        lines.append(f"({len(others) - STOPS_SHOWN} more sequences stop otherwise: see --json)")
    return lines


def print_generation(gen: GenerationComparison | DrawsComparison, console: Console) -> None:
    """The section: the step table, stop and length lines, why and notes (a loop without
    tokens: its draws line and notes)."""
    style = {"parity": "green", "divergent": "red"}.get(gen.status, "yellow")
    console.print(gen.headline(), style=f"bold {style}", markup=False)
    if isinstance(gen, DrawsComparison):
        for note in gen.notes:
            console.print(f"note: {note}", style="yellow", markup=False)
        return
    if gen.steps:
        console.print(step_table(gen))
    hidden = len(gen.steps) - len(_shown(gen))
    if hidden > 0:
        console.print(f"({hidden} more agreeing steps in --json)", style="dim")
    for line in stop_lines(gen):
        console.print(line, markup=False)
    agreement = gen.top1_agreement
    sampling = ("sampled, draws replayed" if gen.replayed else "sampled, own draws") \
        if gen.sampled else "greedy"
    n = gen.compared_steps
    console.print(f"{n} step{'s' * (n != 1)} compared ({sampling}); top-1 agreement "
                  f"{format_metric(agreement, '.3f')}; KL max "
                  f"{format_metric(gen.kl_max, '.3g')} nats (tolerance {gen.kl_tol:g})",
                  style="dim", markup=False)
    for line in gen.why:
        console.print(f"why: {line}", style="bold", markup=False)
    for note in gen.notes:
        console.print(f"note: {note}", style="yellow", markup=False)
