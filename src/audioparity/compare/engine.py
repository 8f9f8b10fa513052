"""Compare two traces pair by pair and find the first divergence.

Pairs are streamed: one reference tensor and its port counterpart are read (memory-mapped
where the format allows), measured in chunks and released before the next pair.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import InputError
from ..progress import progress_bar
from ..trace import Trace, open_trace
from .align import Alignment, align
from .mapping import MapRules, load_rules, module_path
from .metrics import pair_metrics
from .result import CompareResult, FirstDivergence, PairResult
from .tolerance import Tol, default_tolerance

ExplainMode = Literal["none", "first", "all"] | bool


def compare_traces(ref: str | Path | Trace, port: str | Path | Trace,
                   rules: str | Path | MapRules | None = None, *, rtol: float | None = None,
                   atol: float | None = None, explain: ExplainMode = "first",
                   by_order: bool = True, progress: bool = False) -> CompareResult:
    """Align ``port`` to ``ref``, measure every pair, and explain the first divergence.

    Parameters
    ----------
    ref, port : traces or paths to them (any format :func:`~audioparity.trace.open_trace` reads).
    rules : map rules (or a path to a YAML/TOML map file) translating port names.
    rtol, atol : override the dtype-aware defaults for every pair (a map file's per-name
        tolerances win over these).
    explain : ``"first"`` (default; also ``True``) runs the cause catalogue on the first
        divergence, ``"all"`` on every failing pair, ``"none"``/``False`` not at all.
    by_order : align names that still differ by execution order and shape.
    progress : show a progress bar on a terminal.

    Raises
    ------
    InputError
        When a trace cannot be read or the two share no tensor at all.
    """
    mode = {True: "first", False: "none"}.get(explain, explain)  # type: ignore[arg-type]
    if isinstance(rules, (str, Path)):
        rules = load_rules(rules)
    ref_t = ref if isinstance(ref, Trace) else open_trace(ref)
    port_t = port if isinstance(port, Trace) else open_trace(port)
    alignment = align(ref_t.infos(), port_t.infos(), rules, by_order=by_order)
    if not alignment.pairs:
        raise InputError(port_t.path, f"no tensor in common with {ref_t.path} "
                                      f"({len(ref_t)} vs {len(port_t)} tensors, none aligned "
                                      "by name, map rules or shape) — are these the same model?")
    entries = _measure(ref_t, port_t, alignment, rules, rtol, atol, progress)
    first = _first_divergence(entries)
    result = CompareResult(str(ref_t.path), str(port_t.path), entries, first,
                           alignment.unmatched_ref, alignment.unmatched_port)
    if mode != "none" and first is not None:
        _explain(result, ref_t, port_t, alignment, mode)
    return result


def _tolerance(entry_ref: str, ref_dtype: str, port_dtype: str, qtype: str | None,
               rules: MapRules | None, rtol: float | None, atol: float | None) -> Tol:
    base = default_tolerance(ref_dtype, port_dtype, qtype)
    if rtol is not None or atol is not None:
        base = Tol(base.rtol if rtol is None else rtol, base.atol if atol is None else atol,
                   "--rtol/--atol")
    override = rules.tolerance_for(entry_ref) if rules else None
    if override is not None:
        base = Tol(base.rtol if override.rtol is None else override.rtol,
                   base.atol if override.atol is None else override.atol, "map file")
    return base


def _measure(ref_t: Trace, port_t: Trace, alignment: Alignment, rules: MapRules | None,
             rtol: float | None, atol: float | None, progress: bool) -> list[PairResult]:
    entries = []
    with progress_bar(None if progress else False) as bar:
        task = bar.add_task("compare", total=len(alignment.pairs))
        for pair in alignment.pairs:
            ri, pi = ref_t.info(pair.ref), port_t.info(pair.port)
            tol = _tolerance(pair.ref, ri.dtype, pi.dtype, pi.qtype, rules, rtol, atol)
            entry = PairResult(pair.ref, pair.ref, pair.port, ri.shape, pi.shape, ri.dtype,
                               pi.dtype, pair.method, "shape", tol.rtol, tol.atol, tol.source)
            if ri.shape == pi.shape:
                m = pair_metrics(ref_t.read(pair.ref), port_t.read(pair.port))
                entry.metrics = m
                if m.nonfinite_mismatch:
                    entry.status = "nonfinite"
                elif m.max_abs <= tol.limit(m.ref_absmax):
                    entry.status = "ok"
                else:
                    entry.status = "FAIL"
            entries.append(entry)
            bar.advance(task)
    return entries


def _first_divergence(entries: list[PairResult]) -> FirstDivergence | None:
    for i, entry in enumerate(entries):
        if not entry.ok:
            last_good = next((e.name for e in reversed(entries[:i]) if e.ok), None)
            nxt = entries[i + 1].name if i + 1 < len(entries) else None
            return FirstDivergence(entry, i, last_good, nxt)
    return None


def _explain(result: CompareResult, ref_t: Trace, port_t: Trace, alignment: Alignment,
             mode: str) -> None:
    try:
        from ..explain import ExplainContext, explain_pair
    except ImportError:  # the catalogue is optional at this layer
        return
    ref_to_port = {p.ref: p.port for p in alignment.pairs}
    history: list[dict[str, Any]] = []
    modules = ref_t.meta.get("modules", {}) if isinstance(ref_t.meta, dict) else {}

    def get_ref(name: str) -> np.ndarray | None:
        return ref_t.read(name) if name in ref_t else None

    def get_port(name: str) -> np.ndarray | None:
        mapped = ref_to_port.get(name, name if name in port_t else None)
        return port_t.read(mapped) if mapped is not None else None

    first_entry = result.first_divergence.entry if result.first_divergence else None
    targets = {id(first_entry)} if mode == "first" else {id(e) for e in result.failing}
    for i, entry in enumerate(result.entries):
        if id(entry) in targets:
            prev = result.entries[i - 1] if i > 0 else None
            ctx = ExplainContext(
                name=entry.name, module_type=modules.get(module_path(entry.name)),
                ref_dtype=entry.ref_dtype, port_dtype=entry.port_dtype,
                port_qtype=port_t.info(entry.port_name).qtype, get_ref=get_ref,
                get_port=get_port, previous_name=prev.name if prev else None,
                previous_ok=prev.ok if prev else None, history=list(history))
            causes = explain_pair(ref_t.read(entry.ref_name), port_t.read(entry.port_name), ctx)
            if entry is first_entry:
                result.first_divergence.causes = causes
                if mode == "first":
                    return
            result.explained[entry.name] = causes
        history.append({"name": entry.name, "max_abs": entry.max_abs, "rel_l2": entry.rel_l2,
                        "cosine": entry.cosine, "snr_db": entry.snr_db, "ok": entry.ok})
