"""``assert_trace_parity``: a port's trace must match the reference's, or the test fails
with the first divergence, its likely causes and the validation rows around it."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..compare import CompareResult, MapRules, compare_traces, rules_from_dict
from ..compare.result import PairResult, safe_text
from ..report.numbers import format_metric
from ..trace import Trace, write_trace
from .reports import report_dir, report_path

TraceLike = str | Path | Trace | Mapping[str, np.ndarray]
"""A trace file (any format :func:`~audioparity.trace.open_trace` reads), an open
:class:`~audioparity.trace.Trace`, or a dict of arrays in execution order (what a port's
Python binding returns)."""

#: validation rows shown on each side of the first divergence
CONTEXT_ROWS = 3
#: causes listed, best first
CAUSES_SHOWN = 3


class TraceParityError(AssertionError):
    """A failed :func:`assert_trace_parity`: ``result`` is the comparison, ``report`` the
    HTML report written for it (None when no report folder was set)."""

    __module__ = "audioparity.testing"  # how pytest names it in a failure: the public path

    def __init__(self, message: str, result: CompareResult, report: Path | None = None):
        super().__init__(message)
        self.result = result
        self.report = report


def assert_trace_parity(ref: TraceLike, port: TraceLike,
                        map: str | Path | MapRules | dict | None = None,
                        rtol: float | None = None, atol: float | None = None, *,
                        context_rows: int = CONTEXT_ROWS, strict_layout: bool = False,
                        ) -> CompareResult:
    """Assert that ``port`` matches ``ref`` pair by pair and reaches the reference's outputs.

    Parameters
    ----------
    ref, port : TraceLike
        The reference's and the port's traces: paths, open traces, or dicts of arrays
        (name -> array, in execution order).
    map : map rules (a YAML/TOML map file, parsed rules, or the same keys as a dict) that
        translate port names; usually unneeded (see ``docs/compare.md``).
    rtol, atol : override the dtype-aware tolerances for every pair.
    context_rows : validation rows shown before and after the first divergence.
    strict_layout : compare tensors as stored (no port convention inferred).

    Returns
    -------
    CompareResult
        The comparison, when its status is ``parity``.

    Raises
    ------
    TraceParityError
        (an ``AssertionError``) when a pair diverges or the port's trace is incomplete; the
        message names the first divergent layer (reference and port names), its likely
        causes with confidence and fix hint, and the validation rows around it. When a
        report folder is set (``pytest --audioparity-report DIR``), the HTML report is
        written there and the message ends with its path.
    audioparity.errors.InputError
        When a trace cannot be read or the two share no tensor (nothing could be checked).
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not ours
    rules = rules_from_dict(map, "map") if isinstance(map, dict) else map
    with tempfile.TemporaryDirectory(prefix="audioparity-") as tmp:
        ref_t = _as_trace(ref, Path(tmp) / "ref.safetensors")
        port_t = _as_trace(port, Path(tmp) / "port.safetensors")
        result = compare_traces(ref_t, port_t, rules, rtol=rtol, atol=atol,
                                strict_layout=strict_layout)
        if result.status == "parity":
            return result
        message = failure_message(result, context_rows)
        # written while the traces exist: the report may read tensors from them
        report, problem = _write_report(result)
    if report is not None:
        message += f"\nHTML report: {report}"
    elif problem:
        message += f"\nHTML report not written: {problem}"
    raise TraceParityError(message, result, report)


def _as_trace(value: TraceLike, spill: Path) -> str | Path | Trace:
    if isinstance(value, Mapping):
        tensors = {str(k): np.asarray(v) for k, v in value.items()}
        return write_trace(spill, tensors, {"source": "python", "model": "dict of arrays"})
    return value


def _write_report(result: CompareResult) -> tuple[Path | None, str]:
    """(the report written, or None; why it could not be written, or "")."""
    directory = report_dir()
    if directory is None:
        return None, ""
    from ..report.html import write_html

    try:
        directory.mkdir(parents=True, exist_ok=True)
        path = report_path(directory)
        write_html(path, result)
    except OSError as exc:  # the assertion's own message matters more than the report
        return None, f"{exc.filename or directory}: {exc.strerror or exc}"
    return path, ""


def failure_message(result: CompareResult, context_rows: int = CONTEXT_ROWS) -> str:
    """The assertion message for a comparison that is not at parity: what failed, why it
    probably did, and a few validation rows around it (never the whole table)."""
    lines = [_head(result)]
    if result.first_divergence is not None:
        lines += _divergence_lines(result)
        centre = result.first_divergence.index
    else:
        centre = len(result.entries) - 1
    if result.incomplete is not None and result.first_divergence is not None:
        lines.append(f"  also incomplete: {result.incomplete.line()}")
    for line in result.conventions:
        lines.append(f"  read: {line}")
    lines += _table(result, centre, context_rows)
    return safe_text("\n".join(lines))


def _head(result: CompareResult) -> str:
    first = result.first_divergence
    n = len(result.entries)
    if first is not None:
        return (f"port diverges from the reference at {first.name} "
                f"(pair {first.index + 1} of {n} in execution order)")
    inc = result.incomplete
    head = f"port trace is incomplete: {inc.line()}"
    return head + (f"\n  all {n} aligned pairs are within tolerance, but parity needs the "
                   "port to reach the reference's outputs")


def _divergence_lines(result: CompareResult) -> list[str]:
    first = result.first_divergence
    e = first.entry
    how = f"aligned by {e.method}" + (f", read {e.convention}" if e.convention else "")
    lines = [f"  ref name:  {e.ref_name}",
             f"  port name: {e.port_name} ({how})",
             f"  {e.detail}",
             f"  last good: {first.last_good or '(none: the very first pair)'}"]
    if not first.causes:
        lines.append("likely causes: none found by the cause catalogue")
        return lines
    lines.append("likely causes (best first):")
    width = max(len(c.cause) for c in first.causes[:CAUSES_SHOWN])
    for c in first.causes[:CAUSES_SHOWN]:
        lines.append(f"  {c.cause:<{width}}  {c.confidence:.2f}  {c.detail}")
        if c.hint:
            lines.append(f"  {'':<{width}}        fix: {c.hint}")
    return lines


_COLUMNS = ("pair", "status", "max diff", "rel err", "cosine", "SNR dB")


def _table(result: CompareResult, centre: int, context: int) -> list[str]:
    entries = result.entries
    if not entries:
        return []
    lo, hi = max(0, centre - context), min(len(entries), centre + context + 1)
    shown = entries[lo:hi]
    first = result.first_divergence.entry if result.first_divergence else None
    with_port = any(_how(e) for e in shown)
    header = list(_COLUMNS) + (["port (aligned by)"] if with_port else [])
    body = [[e.name, e.status, format_metric(e.max_abs, ".3g"),
             format_metric(e.rel_l2, ".3g"), format_metric(e.cosine, ".6f"),
             format_metric(e.snr_db, ".1f")] + ([_how(e)] if with_port else [])
            for e in shown]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

    def fmt(cells: list[str], mark: str) -> str:
        out = [cells[0].ljust(widths[0]), cells[1].ljust(widths[1])]
        out += [c.rjust(w) for c, w in zip(cells[2:6], widths[2:6], strict=True)]
        out += cells[6:]
        return f"  {mark} " + "  ".join(out).rstrip()

    title = (f"validation (pairs {lo + 1}-{hi} of {len(entries)}"
             + ("; > marks the first divergence)" if first is not None else ")"))
    rows = [title, fmt(header, " ")]
    rows += [fmt(cells, ">" if e is first else " ") for e, cells in zip(shown, body,
                                                                          strict=True)]
    return rows


def _how(e: PairResult) -> str:
    parts = []
    if e.method != "name" or e.port_name != e.ref_name:
        parts.append(f"{e.port_name} ({e.method})")
    if e.convention:
        parts.append(f"read {e.convention}")
    return "; ".join(parts)
