"""The terminal report: the validation table (component | status | max diff | rel err |
cosine | SNR dB), the first-divergence panel and, under ``--explain all``, every explained
pair collapsed by component (:func:`explained_panel`); and the isolated per-component table
beside the end-to-end one, with the patching table (:func:`print_isolation`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..compare.mapping import split_name
from ..compare.result import CompareResult, PairResult, safe_text
from .numbers import format_metric

if TYPE_CHECKING:
    from ..isolate import Check, ComponentRow, IsolationResult, PatchResult

AUTO_ROWS = 80
NOTES_SHOWN = 8
#: ``--explain all``: components (blocks) the explained pairs are grouped into, at most,
EXPLAINED_BLOCKS = 8
#: one-line ``unknown`` pairs shown per block before the rest are counted (pairs with a
#: named cause are always shown),
EXPLAINED_LINES = 6
#: findings shown in full for a block's first pair, and characters of a one-line detail.
FULL_CAUSES = 3
LINE_DETAIL = 90
#: "read as" of a pair compared as stored where the port's majority convention would have
#: moved it (its ``convention_note`` holds the full text, in ``--json`` and the notes)
MAJORITY_BREAK = "as stored ≠ majority"


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
    """``"order+value ← blk.0.ffn_up; channels_last"``, ``"as stored ≠ majority"`` for a
    pair that breaks the port's majority convention; ``""`` for an exact, as-stored pair."""
    parts = []
    if e.method != "name":
        parts.append(f"{e.method} ← {e.port_name}")
    if e.convention:
        parts.append(e.convention)
    if e.convention_note:
        parts.append(MAJORITY_BREAK)
    return "; ".join(parts)


def _group_how(members: list[PairResult]) -> str:
    counts: dict[str, int] = {}
    for e in members:
        for key in ([e.method] if e.method != "name" else []) + (
                [e.convention] if e.convention else []) + (
                [MAJORITY_BREAK] if e.convention_note else []):
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
        cells += [status, format_metric(r.max_abs, ".3g"), format_metric(r.rel_l2, ".3g"),
                  format_metric(r.cosine, ".6f"), format_metric(r.snr_db, ".1f")]
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
    if e.complex is not None:
        lines.append(Text.assemble(("complex        ", "dim"), e.complex.reading()))
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


def explained_depth(names: list[str], table_depth: int | None = None) -> int:
    """The deepest module-path depth (no deeper than the table's grouping) that puts
    ``names`` into few components: at most √n, between 4 and :data:`EXPLAINED_BLOCKS`."""
    limit = min(EXPLAINED_BLOCKS, max(4, int(math.sqrt(len(names)))))
    top = 6 if table_depth is None else max(1, table_depth)
    for depth in range(top, 0, -1):
        if len({group_key(n, depth) for n in names}) <= limit:
            return depth
    return 1


def _short(text: str, limit: int = LINE_DETAIL) -> str:
    text = safe_text(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _cause_lines(causes: list, indent: str) -> list[Text]:
    lines = []
    for c in causes[:FULL_CAUSES]:
        lines.append(Text.assemble(f"{indent}{c.cause:<18} ", (f"{c.confidence:.2f}  ", "cyan"),
                                   safe_text(c.detail)))
        if c.hint:
            lines.append(Text.assemble((f"{indent}{'':<18} fix: ", "dim"), safe_text(c.hint)))
    if len(causes) > FULL_CAUSES:
        lines.append(Text(f"{indent}(+{len(causes) - FULL_CAUSES} weaker findings in --json)",
                          style="dim"))
    return lines


def _one_line(name: str, causes: list, note: str = "") -> Text:
    if not causes:
        what = Text("no finding (within float32 reordering noise of the reference)",
                    style="dim")
    else:
        c = causes[0]
        what = Text.assemble(f"{c.cause} ", (f"{c.confidence:.2f}", "cyan"),
                             f"  {_short(c.detail)}")
    line = Text.assemble("  ", (safe_text(name), "bold"), note, "  ", what)
    line.no_wrap, line.overflow = True, "ellipsis"  # one terminal row per pair
    return line


def _named(causes: list) -> bool:
    """True when the pair's top finding names a cause (not ``unknown`` / nothing)."""
    return bool(causes) and causes[0].cause != "unknown"


def explained_panel(result: CompareResult, depth: int | None = None) -> Panel | None:
    """``--explain all``: every explained pair, one block per component (a module-path
    prefix, :func:`explained_depth`). A block shows its first
    first pair with a named cause (else its first pair) in full and one line (top finding)
    for each other pair; the first divergence, already in full in its own panel, is one
    line. Every pair with a named cause gets its line; past :data:`EXPLAINED_LINES`
    ``unknown`` lines a block counts the rest. None when at most the first divergence was
    explained."""
    first = result.first_divergence
    first_name = first.name if first else None
    names = [e.name for e in result.entries if e.name in result.explained]
    if not [n for n in names if n != first_name]:
        return None
    d = explained_depth(names, depth)
    blocks: dict[str, list[str]] = {}
    for n in names:
        blocks.setdefault(group_key(n, d), []).append(n)
    lines: list[Text] = [Text(f"{len(names)} failing pairs explained, in "
                              f"{len(blocks)} components (first pair of each in full)",
                              style="dim")]
    for key, members in blocks.items():
        lines.append(Text.assemble((safe_text(key or "(root)"), "bold magenta"),
                                   (f"  {len(members)} pair{'s' * (len(members) != 1)}",
                                    "dim")))
        others = [n for n in members if n != first_name]
        named = [n for n in others if _named(result.explained[n])]
        full = (named or others or [None])[0]
        shown = 0
        rest: dict[str, int] = {}
        for n in members:
            causes = result.explained[n]
            if n == full:
                if causes:
                    lines.append(Text.assemble("  ", (safe_text(n), "bold")))
                    lines.extend(_cause_lines(causes, "    "))
                else:
                    lines.append(_one_line(n, causes))
            elif n == first_name or _named(causes) or shown < EXPLAINED_LINES:
                note = " (first divergence, above)" if n == first_name else ""
                lines.append(_one_line(n, causes, note))
                shown += not _named(causes) and n != first_name
            else:  # every named finding stays on screen; only unknowns are counted
                top = causes[0].cause if causes else "no finding"
                rest[top] = rest.get(top, 0) + 1
        if rest:
            tally = ", ".join(f"{k} ×{v}" for k, v in rest.items())
            lines.append(Text(f"  +{sum(rest.values())} more pairs: {tally} (see --json)",
                              style="dim"))
    return Panel(Group(*lines), title="every explained pair (--explain all)",
                 border_style="magenta")


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
    explained = explained_panel(result, depth)
    if explained is not None:
        console.print(explained)


_CHECK_STYLE = {"ok": "green", "FAIL": "red", "shape": "red", "nonfinite": "red",
                "missing": "red", "error": "yellow", "not run": "dim"}
_VERDICT_STYLE = {"bug": "bold red", "victim": "yellow", "ok": "green", "error": "yellow",
                  "unchecked": "dim"}


def _check_cells(check: Check | None) -> list[Text | str]:
    """``status`` and ``rel err`` cells of one check (``-`` when there is none)."""
    if check is None:
        return [Text("-", style="dim"), "-"]
    label = {"nonfinite": "NaN/Inf", "shape": "SHAPE"}.get(check.status, check.status)
    return [Text(label, style=_CHECK_STYLE.get(check.status, "")),
            format_metric(check.rel_l2, ".3g")]


def _verdict_cell(row: ComponentRow) -> Text:
    if row.verdict == "bug":
        where = f" -> {row.innermost}" if row.chain else ""
        return Text(f"BUG{where}", style=_VERDICT_STYLE["bug"])
    if row.verdict == "victim":
        return Text(row.note.split(": ", 1)[-1], style=_VERDICT_STYLE["victim"])
    if row.verdict in ("error", "unchecked"):
        return Text(f"{row.verdict}: {_short(row.note, 70)}", style=_VERDICT_STYLE["error"])
    return Text("ok", style=_VERDICT_STYLE["ok"])


def isolation_table(result: IsolationResult) -> Table:
    """component | end to end (status, rel err) | isolated (status, rel err) | verdict."""
    table = Table(title="Per component: end to end vs isolated (on the reference's inputs)",
                  header_style="bold")
    table.add_column("component", overflow="fold", min_width=16)
    table.add_column("end to end")
    table.add_column("rel err", justify="right")
    table.add_column("isolated")
    table.add_column("rel err", justify="right")
    table.add_column("verdict", overflow="fold")
    for row in result.rows:
        table.add_row(safe_text(row.name), *_check_cells(row.end_to_end),
                      *_check_cells(row.isolated), _verdict_cell(row))
    return table


def patch_table(patch: PatchResult) -> Table:
    """Downstream of the patched component: end to end before and after the patch."""
    table = Table(title=f"Patched: {safe_text(patch.component)} returns the reference's output",
                  header_style="bold")
    table.add_column("downstream", overflow="fold", min_width=16)
    table.add_column("before patch")
    table.add_column("rel err", justify="right")
    table.add_column("after patch")
    table.add_column("rel err", justify="right")
    for row in patch.rows:
        table.add_row(safe_text(row.name), *_check_cells(row.before), *_check_cells(row.after))
    return table


def bugs_panel(result: IsolationResult) -> Panel | None:
    """Each component wrong in isolation: where inside it, and why (best causes)."""
    lines: list[Text] = []
    for row in result.bugs:
        if not (row.chain or row.skipped or row.causes):
            continue  # nothing beyond the table's row (--no-explain, nothing narrowed)
        lines.append(Text.assemble(("BUG ", "bold red"), (safe_text(row.name), "bold")))
        if row.chain:
            inner = row.inner_check
            err = "" if inner is None else f" (rel err {format_metric(inner.rel_l2, '.3g')})"
            lines.append(Text.assemble(("  innermost wrong alone  ", "dim"),
                                       safe_text(row.innermost) + err))
            lines.append(Text("  via " + " > ".join(safe_text(n) for n in
                                                    [row.name, *row.chain]), style="dim"))
        if row.skipped:
            lines.append(Text(f"  could not run alone (not checked): "
                              f"{_short(', '.join(row.skipped))}", style="yellow"))
        if row.causes:
            lines.extend(_cause_lines(row.causes[:1], "  "))
        if len(row.causes) > 1:
            also = ", ".join(f"{c.cause} {c.confidence:.2f}" for c in row.causes[1:4])
            lines.append(Text(f"  also fits, less well: {also} (details in --json)",
                              style="dim"))
    if not lines:
        return None
    return Panel(Group(*lines), title="wrong in isolation: where and why", border_style="red")


def print_isolation(result: IsolationResult, console: Console) -> None:
    """Headline, the side-by-side table, notes, the bugs panel and the patching table."""
    style = "bold green" if result.status == "parity" else "bold"
    console.print(safe_text(result.headline), style=style, markup=False)
    port = f"port: {result.port_kind} ({safe_text(result.port_description)})" \
        if result.port_description else f"port: {result.port_kind}"
    e2e = f"; end to end: {safe_text(result.end_to_end_source)}" \
        if result.end_to_end_source else ""
    console.print(port + e2e, style="dim", markup=False)
    console.print(isolation_table(result))
    for note in result.notes[:NOTES_SHOWN]:
        console.print(f"note: {safe_text(note)}", style="yellow", markup=False)
    panel = bugs_panel(result)
    if panel is not None:
        console.print(panel)
    if result.patch is not None:
        console.print(patch_table(result.patch))
        console.print(safe_text(result.patch.line),
                      style="green" if result.patch.recovered else "red", markup=False)
