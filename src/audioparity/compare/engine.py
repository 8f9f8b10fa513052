"""Compare two traces pair by pair and find the first divergence.

Data walks one way: align (matchers, value fingerprints) → read each port tensor in the
reference's layout (port conventions) → measure → first divergence → explain.
Pairs are streamed: one reference tensor and its port counterpart are read (memory-mapped
where the format allows), measured in chunks and released before the next pair.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import InputError, UsageError
from ..progress import progress_bar
from ..trace import Trace, open_trace
from . import completeness
from .align import Alignment, align
from .complex_metrics import complex_metrics, is_complex
from .conventions import read_rope_rows
from .conventions.infer import Readings, infer
from .fingerprint import Fingerprints
from .mapping import MapRules, load_rules, module_path
from .metrics import pair_metrics
from .result import CompareResult, FirstDivergence, PairResult
from .tolerance import Tol, default_tolerance

ExplainMode = Literal["none", "first", "all"] | bool
#: last pairs searched for a port tensor holding a reference's final output values
REACHED_TAIL = 4


def compare_traces(ref: str | Path | Trace, port: str | Path | Trace,
                   rules: str | Path | MapRules | None = None, *, rtol: float | None = None,
                   atol: float | None = None, explain: ExplainMode = "first",
                   by_order: bool = True, progress: bool = False,
                   strict_layout: bool = False, replay: bool = False) -> CompareResult:
    """Align ``port`` to ``ref``, measure every pair, and explain the first divergence.

    Parameters
    ----------
    ref, port : traces or paths to them (any format :func:`~audioparity.trace.open_trace` reads).
    rules : map rules (or a path to a YAML/TOML map file) translating port names.
    rtol, atol : override the dtype-aware defaults for every pair (a map file's per-name
        tolerances win over these); must be >= 0.
    explain : ``"first"`` (default; also ``True``) runs the cause catalogue on the first
        divergence, ``"all"`` on every failing pair, ``"none"``/``False`` not at all.
    by_order : align names that still differ by execution order and shape.
    progress : show a progress bar on a terminal.
    strict_layout : compare tensors as stored: no port convention (channels-last, missing
        batch axis, split heads …) is inferred or applied, and shapes must be equal.
    replay : the port took the reference's recorded random draws (generation traces; see
        :mod:`audioparity.generation`).

    A reference holding a generation record (``@k/gen.token``) adds the generation section
    (``result.generation``); the per-tensor pairs are then limited to the steps both sides
    computed from the same tokens.

    Raises
    ------
    InputError
        When a trace cannot be read or the two share no tensor at all.
    UsageError
        A negative or non-finite tolerance.
    """
    for flag, value in (("--rtol", rtol), ("--atol", atol)):
        if value is not None and (not math.isfinite(value) or value < 0):
            raise UsageError(f"{flag} must be a finite number >= 0 (got {value:g})")
    mode = {True: "first", False: "none"}.get(explain, explain)  # type: ignore[arg-type]
    if isinstance(rules, (str, Path)):
        rules = load_rules(rules)
    ref_t = ref if isinstance(ref, Trace) else open_trace(ref)
    port_t = port if isinstance(port, Trace) else open_trace(port)
    generation = _generation(ref_t, port_t, replay)
    ref_infos, port_infos = ref_t.infos(), port_t.infos()
    if generation is not None:
        ref_infos = [i for i in ref_infos if generation.keeps(i.name)]
        port_infos = [i for i in port_infos if generation.keeps(i.name)]
    fingerprints = Fingerprints(ref_t.read, port_t.read)
    alignment = align(ref_infos, port_infos, rules, by_order=by_order,
                      fingerprints=fingerprints, ref_modules=ref_t.modules,
                      port_modules=port_t.modules, strict_layout=strict_layout)
    ref_t.release()  # the fingerprints touched a page or so of every tensor
    port_t.release()
    if not alignment.pairs and generation is None:
        marked = " (the port trace is marked incomplete: " \
                 f"{_meta(port_t).get('error') or 'its forward did not finish'})" \
            if _meta(port_t).get("incomplete") else ""
        raise InputError(port_t.path, f"no tensor in common with {ref_t.path} "
                                      f"({len(ref_t)} vs {len(port_t)} tensors, none aligned "
                                      "by name, map rules, structure or shape) — are these "
                                      f"the same model?{marked}")
    pairs = [(p.ref, p.port) for p in alignment.pairs]
    ref_by_name, port_by_name = {i.name: i for i in ref_t.infos()}, \
        {i.name: i for i in port_t.infos()}
    readings = infer(pairs, ref_by_name, port_by_name, fingerprints, strict=strict_layout)
    # a convention the port's runtime declares and no shape reveals (llama.cpp's Q/K rows)
    read_rope_rows(readings, pairs, ref_by_name, port_by_name, fingerprints,
                   port_t.modules, strict=strict_layout)
    entries = _measure(ref_t, port_t, alignment, readings, rules, rtol, atol, progress)
    first = _first_divergence(entries)
    result = CompareResult(str(ref_t.path), str(port_t.path), entries, first,
                           alignment.unmatched_ref, alignment.unmatched_port)
    result.generation = generation
    # a generation's stop and length say how far the port got: of its tensors, only a
    # port trace marked incomplete (it raised) is; a diverged step need not reach an output
    reached = (lambda name: True) if getattr(generation, "checks_stop", False) else \
        _reached_by_value(
        ref_t, port_t, alignment, fingerprints, strict_layout)
    result.incomplete = completeness.check([i.name for i in ref_infos], alignment,
                                           _meta(port_t), reached)
    result.conventions = readings.summary()
    result.notes = (_reader_notes(ref_t, "reference") + _reader_notes(port_t, "port")
                    + alignment.notes + readings.notes)
    if _meta(port_t).get("truncated"):
        result.notes.append("the port's capture stopped recording at its tensor/byte limit")
    if mode != "none" and first is not None:
        _explain(result, ref_t, port_t, alignment, readings, mode)
    if generation is not None and first is not None:
        generation.locate(first)
    return result


def _generation(ref_t: Trace, port_t: Trace, replay: bool):
    """The generation section (a token loop, or the draws of a loop without tokens), or
    None when the reference recorded neither."""
    if not replay and not any("gen." in n or "draws." in n for n in ref_t.names):
        return None  # no @k/gen.* nor draws.* name: skip importing the generation stack
    from ..generation.compare import compare_generation
    from ..generation.draws import compare_draws

    generation = compare_generation(ref_t, port_t, replay=replay)
    return generation if generation is not None else compare_draws(ref_t, port_t)


def _reached_by_value(ref_t: Trace, port_t: Trace, alignment: Alignment,
                      fingerprints: Fingerprints, strict: bool):
    """``reached(ref_name)``: a port tensor paired near the end holds the same values."""
    from .conventions import candidates, identity
    from .fingerprint import AGREE

    tail = alignment.pairs[-REACHED_TAIL:]

    def reached(name: str) -> bool:
        ri = ref_t.info(name)
        for pair in tail:
            pi = port_t.info(pair.port)
            readings = [identity(pi.shape)] if pi.shape == ri.shape else []
            if not strict:
                readings += candidates(ri.shape, pi.shape)
            if any(fingerprints.difference(name, pair.port, t) <= AGREE for t in readings):
                return True
        return False

    return reached


def _meta(trace: Trace) -> dict[str, Any]:
    return trace.meta if isinstance(trace.meta, dict) else {}


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


def _measure(ref_t: Trace, port_t: Trace, alignment: Alignment, readings: Readings,
             rules: MapRules | None, rtol: float | None, atol: float | None,
             progress: bool) -> list[PairResult]:
    entries = []
    with progress_bar(None if progress else False) as bar:
        task = bar.add_task("compare", total=len(alignment.pairs))
        for pair in alignment.pairs:
            ri, pi = ref_t.info(pair.ref), port_t.info(pair.port)
            tol = _tolerance(pair.ref, ri.dtype, pi.dtype, pi.qtype, rules, rtol, atol)
            reading = readings.by_ref.get(pair.ref)
            entry = PairResult(pair.ref, pair.ref, pair.port, ri.shape, pi.shape, ri.dtype,
                               pi.dtype, pair.method, "shape", tol.rtol, tol.atol, tol.source,
                               convention=None if reading is None or reading.is_identity
                               else reading.name)
            entry.convention_note = readings.pair_notes.get(pair.ref)
            if reading is not None:
                ref_arr, port_arr = ref_t.read(pair.ref), reading.apply(port_t.read(pair.port))
                m = pair_metrics(ref_arr, port_arr)
                if (is_complex(ref_t, pair.ref) or is_complex(port_t, pair.port)) \
                        and ref_arr.shape[-1:] == (2,):
                    entry.complex = complex_metrics(ref_arr, port_arr)
                del ref_arr, port_arr
                ref_t.release(pair.ref)  # one pair resident at a time, however big the trace
                port_t.release(pair.port)
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


def _reader_notes(trace: Trace, side: str) -> list[str]:
    """What the reader noticed (a format told by content, repeated names, gaps)."""
    notes = trace.meta.get("notes", []) if isinstance(trace.meta, dict) else []
    return [f"{side} trace: {note}" for note in notes if isinstance(note, str)]


def _first_divergence(entries: list[PairResult]) -> FirstDivergence | None:
    for i, entry in enumerate(entries):
        if not entry.ok:
            last_good = next((e.name for e in reversed(entries[:i]) if e.ok), None)
            nxt = entries[i + 1].name if i + 1 < len(entries) else None
            return FirstDivergence(entry, i, last_good, nxt)
    return None


def _channels_first_if_near(ref_shape: tuple[int, ...], port: np.ndarray) -> np.ndarray:
    """A channels-last port's tensor whose shape misses the reference's by one axis length
    (a sample too many or too few), moved channels-first so that the catalogue sees the
    length difference, not a layout; anything else as stored."""
    nd = port.ndim
    if nd not in (3, 4) or len(ref_shape) != nd:
        return port
    moved = np.moveaxis(port, -1, 1)
    differ = [k for k in range(nd) if moved.shape[k] != ref_shape[k]]
    return moved if len(differ) == 1 and differ[0] >= 2 else port


class _UpstreamDtypes:
    """The stored dtypes a trace recorded before a given tensor (its execution order).

    A port fed bf16 features computes a float32 layer from rounded inputs: the float32 pair
    alone cannot say so, the trace's earlier tensors can.
    """

    def __init__(self, trace: Trace):
        self._position = {name: i for i, name in enumerate(trace.names)}
        self._first: dict[str, int] = {}
        for i, info in enumerate(trace.infos()):
            self._first.setdefault(info.dtype, i)

    def before(self, name: str) -> tuple[str, ...]:
        position = self._position.get(name, 0)
        return tuple(sorted(d for d, first in self._first.items() if first < position))


def _explain(result: CompareResult, ref_t: Trace, port_t: Trace, alignment: Alignment,
             readings: Readings, mode: str) -> None:
    try:
        from ..explain import ExplainContext, explain_pair
    except ImportError:  # the catalogue is optional at this layer
        return
    ref_to_port = {p.ref: p.port for p in alignment.pairs}
    history: list[dict[str, Any]] = []
    modules = ref_t.modules
    upstream_ref, upstream_port = _UpstreamDtypes(ref_t), _UpstreamDtypes(port_t)

    def get_ref(name: str) -> np.ndarray | None:
        return ref_t.read(name) if name in ref_t else None

    def get_port(name: str) -> np.ndarray | None:
        """The port's counterpart of reference ``name``, in the reference's layout."""
        mapped = ref_to_port.get(name, name if name in port_t else None)
        if mapped is None:
            return None
        reading = readings.by_ref.get(name)
        array = port_t.read(mapped)
        if reading is not None:
            return reading.apply(array)
        if name in ref_t and "channels_last" in readings.adopted:
            return _channels_first_if_near(ref_t.info(name).shape, array)
        return array

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
                previous_ok=prev.ok if prev else None, history=list(history),
                upstream_dtypes={"ref": upstream_ref.before(entry.ref_name),
                                 "port": upstream_port.before(entry.port_name)},
                complex_pair=is_complex(ref_t, entry.ref_name)
                or is_complex(port_t, entry.port_name))
            causes = explain_pair(ref_t.read(entry.ref_name), get_port(entry.ref_name), ctx)
            if entry is first_entry:
                result.first_divergence.causes = causes
                if mode == "first":
                    return
            result.explained[entry.name] = causes
        history.append({"name": entry.name, "max_abs": entry.max_abs, "rel_l2": entry.rel_l2,
                        "cosine": entry.cosine, "snr_db": entry.snr_db, "ok": entry.ok})
