"""The validation table (component | status | max diff | rel err | cosine | SNR dB)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..compare.mapping import split_name
from ..compare.result import CompareResult, PairResult, safe_text

AUTO_ROWS = 80
NOTES_SHOWN = 8


@dataclass
class Row:
    component: str
    count: int
    failing: int
    status: str
    max_abs: float | None
    rel_l2: float | None
    cosine: float | None
    snr_db: float | None
    style: str = ""
    how: str = ""  # how the pair was made / read, when not by exact name as stored


def _fmt(x: float | None, spec: str) -> str:
    if x is None:
        return "-"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if math.isnan(x):
        return "nan"
    return format(x, spec)


def group_key(name: str, depth: int) -> str:
    """The first ``depth`` components of a name's module path (step prefix kept)."""
    step, path, _ = split_name(name)
    return step + ".".join(path.split(".")[:depth])


def rows(result: CompareResult, depth: int | None = None) -> list[Row]:
    """Table rows: one per pair, or one per component at ``depth`` (worst value wins)."""
    first = result.first_divergence
    if depth is None:
        out = []
        last_good = first.last_good if first else None
        for e in result.entries:
            style = ""
            if first and e is first.entry:
                style = "bold red"
            elif e.name == last_good:
                style = "green"
            out.append(Row(e.name, 1, 0 if e.ok else 1, _status(e), e.max_abs, e.rel_l2,
                           e.cosine, e.snr_db, style, pair_how(e)))
        return out
    groups: dict[str, list[PairResult]] = {}
    for e in result.entries:
        groups.setdefault(group_key(e.name, depth), []).append(e)
    out = []
    for key, members in groups.items():
        failing = [e for e in members if not e.ok]
        vals = [e for e in members if e.metrics is not None]
        contains_first = first is not None and any(e is first.entry for e in members)
        out.append(Row(
            key, len(members), len(failing),
            "FAIL" if failing else "ok",
            max((e.max_abs for e in vals), default=None),
            max((e.rel_l2 for e in vals), default=None),
            min((e.cosine for e in vals), default=None),
            min((e.snr_db for e in vals), default=None),
            "bold red" if contains_first else "", _group_how(members)))
    return out


def pair_how(e: PairResult) -> str:
    """``"order+value ← blk.0.ffn_up; channels_last"``; ``""`` for an exact, as-stored pair."""
    parts = []
    if e.method != "name":
        parts.append(f"{e.method} ← {e.port_name}")
    if e.convention:
        parts.append(e.convention)
    return "; ".join(parts)


def _group_how(members: list[PairResult]) -> str:
    counts: dict[str, int] = {}
    for e in members:
        for key in ([e.method] if e.method != "name" else []) + (
                [e.convention] if e.convention else []):
            counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{k} ×{n}" for k, n in counts.items())


def _status(e: PairResult) -> str:
    return {"ok": "ok", "FAIL": "FAIL", "shape": "SHAPE", "nonfinite": "NaN/Inf"}[e.status]


def auto_depth(result: CompareResult) -> int | None:
    """None (one row per pair) for small traces, else the deepest grouping under 40 rows."""
    if len(result.entries) <= AUTO_ROWS:
        return None
    for depth in range(6, 0, -1):
        if len({group_key(e.name, depth) for e in result.entries}) <= 40:
            return depth
    return 1


def validation_table(result: CompareResult, depth: int | None = None) -> Table:
    table = Table(title="Validation", show_lines=False, header_style="bold")
    table.add_column("component", overflow="fold", min_width=24)
    if depth is not None:
        table.add_column("pairs", justify="right")
    table.add_column("status")
    for col in ("max diff", "rel err", "cosine", "SNR dB"):
        table.add_column(col, justify="right")
    all_rows = rows(result, depth)
    show_how = any(r.how for r in all_rows)
    if show_how:
        table.add_column("aligned by / read as", overflow="fold")
    for r in all_rows:
        status = Text(r.status, style="green" if r.status == "ok" else "red")
        cells = [safe_text(r.component)]
        if depth is not None:
            cells.append(f"{r.failing}/{r.count} bad" if r.failing else str(r.count))
        cells += [status, _fmt(r.max_abs, ".3g"), _fmt(r.rel_l2, ".3g"),
                  _fmt(r.cosine, ".6f"), _fmt(r.snr_db, ".1f")]
        if show_how:
            cells.append(safe_text(r.how))
        table.add_row(*cells, style=r.style)
    return table


def divergence_panel(result: CompareResult) -> Panel:
    first = result.first_divergence
    if first is None:
        if result.incomplete is not None:
            return Panel(Text(safe_text(result.headline), style="yellow"), title="result",
                         border_style="yellow")
        n = len(result.entries)
        return Panel(Text(f"parity: all {n} aligned pairs within tolerance", style="green"),
                     title="result")
    e = first.entry
    lines = [
        Text.assemble(("last good      ", "dim"),
                      safe_text(first.last_good or "(none: the very first pair)")),
        Text.assemble(("FIRST DIVERGES ", "bold red"), (safe_text(e.name), "bold red")),
        Text.assemble(("               ", ""), safe_text(e.detail)),
    ]
    if e.port_name != e.ref_name or e.method != "name":
        lines.append(Text.assemble(("  port name    ", "dim"),
                                   safe_text(f"{e.port_name} (aligned by {e.method})")))
    lines.append(Text.assemble(("next           ", "dim"),
                               safe_text(first.next_name or "(end of trace)")))
    if first.causes:
        lines.append(Text("why:", style="bold"))
        for c in first.causes[:3]:
            lines.append(Text.assemble(f"  {c.cause:<18} ", (f"{c.confidence:.2f}  ", "cyan"),
                                       c.detail))
            if c.hint:
                lines.append(Text.assemble(("                     fix: ", "dim"), c.hint))
    return Panel(Group(*lines), title="first divergence", border_style="red")


def print_report(result: CompareResult, console: Console, depth: int | None = -1) -> None:
    """Print the table (``depth=-1``: automatic), unmatched counts and the divergence panel."""
    if depth == -1:
        depth = auto_depth(result)
    console.print(safe_text(result.headline), style="bold", markup=False)
    for line in result.conventions:
        console.print(line, style="cyan", markup=False)
    console.print(validation_table(result, depth))
    if depth is not None:
        console.print(f"(one row per component at depth {depth}; --depth 0 for every pair)",
                      style="dim")
    if result.unmatched_ref or result.unmatched_port:
        console.print(f"unaligned: {len(result.unmatched_ref)} reference tensors, "
                      f"{len(result.unmatched_port)} port tensors (see --json)", style="yellow")
    for note in result.notes[:NOTES_SHOWN]:
        console.print(f"note: {safe_text(note)}", style="yellow", markup=False)
    if len(result.notes) > NOTES_SHOWN:
        console.print(f"({len(result.notes) - NOTES_SHOWN} more notes in --json)", style="dim")
    console.print(divergence_panel(result))
