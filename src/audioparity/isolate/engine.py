"""Isolate each component: run it alone on the reference's recorded inputs, put the result
next to the end-to-end one, and explain the components that are wrong on their own.

>>> result = isolate("ref.safetensors", port_model)
>>> [(r.name, r.verdict) for r in result.rows]
[('encoder', 'bug'), ('quantizer', 'victim'), ('decoder', 'bug')]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..compare.mapping import split_name
from ..errors import InputError, UsageError
from ..progress import progress_bar
from ..sources.naming import ROOT_NAME
from ..sources.recorder import error_line
from ..trace import Trace, open_trace
from .check import Check, OutputCheck, check_outputs, comparable, error_check
from .narrow import Step, narrow_down
from .port import MissingComponent, Port, Slots, as_port
from .recorded import (
    CAPTURE_HINT,
    RecordedCall,
    check_component,
    default_components,
    execution_order,
    read_tensor,
    recorded_call,
    slot_names,
    split_slot,
)
from .result import ComponentRow, IsolationResult, assign_verdicts


def isolate(reference: str | Path | Trace, port: Any, components: Sequence[str] | None = None,
            *, port_trace: str | Path | Trace | None = None, explain: bool = True,
            rtol: float | None = None, atol: float | None = None,
            patch: str | None = None, narrow: bool = True,
            progress: bool = False) -> IsolationResult:
    """The per-component table of ``port`` against the reference trace.

    Parameters
    ----------
    reference : a trace captured with inputs (``capture(model, path, inputs=True)``).
    port : what runs the components: a torch or MLX module, a
        :class:`~audioparity.isolate.callable_port.CallablePort`, a mapping of component
        name -> module / ONNX Runtime session / callable, or a
        :class:`~audioparity.isolate.port.Port` (:func:`~.file_port.file_port` for outputs a
        port in another language saved).
    components : reference names to check (default: the root's direct children that have
        recorded inputs), reported in the reference's execution order.
    port_trace : the port's own trace (any format ``compare`` reads) for the end-to-end
        column; without it the tool runs the port end to end when it can (on the root's
        recorded inputs ``output:in0`` …).
    explain : run the cause catalogue on each component wrong in isolation (on its innermost
        wrong submodule when narrowed).
    narrow : narrow each component wrong in isolation to its innermost submodule wrong in
        isolation (:mod:`~audioparity.isolate.narrow`; ports that resolve submodules).
    rtol, atol : override the dtype-aware tolerances.
    patch : also run the port with this component's output replaced by the reference's
        (see :func:`~audioparity.isolate.patching.patch`).

    Raises
    ------
    InputError
        A component not in the reference, or recorded without inputs; no component at all.
    """
    for flag, value in (("--rtol", rtol), ("--atol", atol)):
        if value is not None and (not math.isfinite(value) or value < 0):
            raise UsageError(f"{flag} must be a finite number >= 0 (got {value:g})")
    if not isinstance(reference, Trace):
        with open_trace(reference) as ref:
            return isolate(ref, port, components, port_trace=port_trace, explain=explain,
                           rtol=rtol, atol=atol, patch=patch, narrow=narrow,
                           progress=progress)
    ref = reference
    names = resolve_components(ref, components)
    driver = as_port(port)
    modules = ref.modules
    rows = []
    with progress_bar(None if progress else False) as bar:
        task = bar.add_task("isolate", total=len(names))
        for name in names:
            call = recorded_call(ref, name, modules)
            check, outputs = run_isolated(driver, call, rtol, atol)
            row = ComponentRow(name, check, module_type=call.module_type)
            if check.wrong:
                _locate(row, ref, driver, call, outputs, modules, narrow, explain, rtol, atol)
            rows.append(row)
            bar.advance(task)
    result = IsolationResult(str(ref.path), driver.kind, rows,
                             port_description=driver.description)
    _fill_end_to_end(result, ref, driver, port_trace, rtol, atol)
    assign_verdicts(rows)
    if all(r.verdict in ("error", "unchecked") for r in rows):
        first = rows[0]
        raise InputError(ref.path, f"no component could be checked: {first.name}: "
                                   f"{first.note}")
    if patch is not None:
        from .patching import patch as run_patch

        result.patch = run_patch(ref, driver, patch, names, rtol=rtol, atol=atol)
    return result


def resolve_components(ref: Trace, components: Sequence[str] | None) -> list[str]:
    """The components to check, validated, in the reference's execution order."""
    names = list(dict.fromkeys(components or default_components(ref)))
    if not names:
        raise InputError(ref.path, "no component to isolate: no direct child of the root has "
                                   f"recorded inputs; name components, or {CAPTURE_HINT}")
    for name in names:
        check_component(ref, name)
    return execution_order(ref, names)


def run_isolated(driver: Port, call: RecordedCall, rtol: float | None,
                 atol: float | None) -> tuple[Check, Slots]:
    """One component on the reference's inputs, judged, and what it returned; a raise is
    the row's error."""
    try:
        runner = driver.component(call.name)
    except MissingComponent as exc:
        return error_check(str(exc), "not run"), {}
    try:
        outputs = runner({**call.inputs, **call.implied})
    except Exception as exc:  # noqa: BLE001 - a raising component is reported in its row
        return error_check(f"raised {error_line(exc)}"), {}
    if not outputs:
        return error_check("returned no array", "error"), {}
    return check_outputs(call.outputs, outputs, rtol, atol, call.stored), outputs


def _locate(row: ComponentRow, ref: Trace, driver: Port, call: RecordedCall, outputs: Slots,
            modules: dict[str, str], narrow: bool, explain: bool, rtol: float | None,
            atol: float | None) -> None:
    """Narrow a component wrong in isolation and explain its innermost wrong module."""
    chain = [Step(call.name, call, row.isolated, outputs)]
    if narrow:
        chain = narrow_down(ref, driver, call, row.isolated, outputs,
                             lambda d, c: run_isolated(d, c, rtol, atol), modules)
    inner = chain[-1]
    row.chain = [step.name for step in chain[1:]]
    row.skipped = inner.skipped
    row.inner_check = inner.check if len(chain) > 1 else None
    if explain:
        row.causes = explain_isolated(ref, inner.call, inner.outputs, inner.check)


def single_call(name: str) -> bool:
    """Whether ``name`` is a module's only call (no ``@k/`` step, no ``#k`` repeat)."""
    step, _, suffix = split_name(name)
    return not step and "#" not in suffix


def root_inputs(ref: Trace) -> Slots:
    """The reference's root inputs (``output:in0`` …); InputError when not recorded."""
    inputs = slot_names(ref, ROOT_NAME)[0]
    if not inputs:
        raise InputError(ref.path, f"records no inputs of the whole model ('{ROOT_NAME}:in0'), "
                                   f"so the port cannot be run end to end: {CAPTURE_HINT}")
    return {k: read_tensor(ref, n) for k, n in inputs.items()}


def run_end_to_end(ref: Trace, driver: Port, names: list[str],
                   replace: dict[str, Slots], rtol: float | None, atol: float | None
                   ) -> tuple[dict[str, Check], str | None]:
    """Run the port end to end (patched by ``replace``) and judge each component; a run
    that raises keeps the components it reached, the others get its error line. Returns
    (checks, the error line or None)."""
    seen: dict[str, Slots] = {}
    try:
        driver.run(root_inputs(ref), names, replace, seen)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - the port's failure is reported, not fatal
        line = f"the port's end-to-end run raised {error_line(exc)}"
        return judge_run(ref, seen, names, rtol, atol, line), line
    return judge_run(ref, seen, names, rtol, atol), None


def judge_run(ref: Trace, seen: dict[str, Slots], names: list[str], rtol: float | None,
              atol: float | None, raised: str | None = None) -> dict[str, Check]:
    """Each component's outputs from an end-to-end run, judged against the reference
    (``raised``: the run's error line, for the components it did not reach)."""
    out = {}
    for name in names:
        recorded = slot_names(ref, name)[1]
        expected = {k: read_tensor(ref, n) for k, n in recorded.items()}
        stored = {k: ref.info(n).dtype for k, n in recorded.items()}
        if name in seen:
            out[name] = check_outputs(expected, seen[name], rtol, atol, stored)
        elif raised:
            out[name] = error_check(f"not reached: {raised}")
        else:
            out[name] = error_check("not called in the port's run", "not run")
    return out


def _fill_end_to_end(result: IsolationResult, ref: Trace, driver: Port,
                     port_trace: str | Path | Trace | None, rtol: float | None,
                     atol: float | None) -> None:
    names = [r.name for r in result.rows]
    if port_trace is not None:
        checks = _from_port_trace(ref, port_trace, names, rtol, atol)
        result.end_to_end_source = f"port trace {getattr(port_trace, 'path', port_trace)}"
    elif driver.run is not None and slot_names(ref, ROOT_NAME)[0] and \
            all(single_call(n) for n in names):
        result.end_to_end_source = "the port run end to end on the reference's inputs"
        checks, raised = run_end_to_end(ref, driver, names, {}, rtol, atol)
        if raised:
            result.notes.append(raised)
    else:
        if driver.run is None:
            why = "the port cannot be run by the tool end to end"
        elif not all(single_call(n) for n in names):
            why = ("a component is one call of several (@k/ step or #k repeat), and an "
                   "end-to-end run watches first calls only")
        else:
            why = f"the reference records no '{ROOT_NAME}:in0'"
        result.notes.append(f"no end-to-end column: {why}; give the port's own trace "
                            "(port_trace=, --port-trace) to fill it")
        return
    for row in result.rows:
        row.end_to_end = checks.get(row.name)


def _from_port_trace(ref: Trace, port_trace: str | Path | Trace, names: list[str],
                     rtol: float | None, atol: float | None) -> dict[str, Check]:
    """End-to-end checks from ``compare`` of the port's trace (its alignment and
    conventions), one per component: the worst of its recorded outputs."""
    from ..compare import compare_traces

    cmp = compare_traces(ref, port_trace, rtol=rtol, atol=atol, explain="none")
    by_name: dict[str, list[OutputCheck]] = {}
    for e in cmp.entries:
        base, kind, index = split_slot(e.name)
        if kind != "out":
            continue
        status = {"FAIL": "FAIL", "ok": "ok", "shape": "shape",
                  "nonfinite": "nonfinite"}[e.status]
        by_name.setdefault(base, []).append(OutputCheck(index, status, e.shape, e.port_shape,
                                                        e.metrics))
    out = {}
    for name in names:
        outputs = by_name.get(name)
        if not outputs:
            out[name] = error_check("not in the port's trace (or not aligned)", "not run")
            continue
        bad = [o.status for o in outputs if o.status != "ok"]
        out[name] = Check(bad[0] if bad else "ok", outputs)
    return out


def explain_isolated(ref: Trace, call: RecordedCall, outputs: Slots, check: Check
                     ) -> list[Any]:
    """The cause catalogue on the isolated pair of a component wrong in isolation (its first
    wrong output), with the reference's recorded inputs as context (the port saw the same)."""
    from ..explain import ExplainContext, explain_pair

    wrong = next((o for o in check.outputs if o.status != "ok"), None)
    if wrong is None or wrong.index not in outputs:
        return []
    ref_out = comparable(call.outputs[wrong.index])
    port_out = comparable(outputs[wrong.index])
    out_name = call.name if wrong.index == 0 else f"{call.name}:out{wrong.index}"

    def get_ref(name: str):  # as stored: complex inputs as their real/imag axis
        return ref.read(name) if name in ref else None

    def get_port(name: str):
        if name == out_name:
            return port_out
        return get_ref(name) if name.startswith(f"{call.name}:in") else None

    ctx = ExplainContext(name=call.name, module_type=call.module_type,
                         ref_dtype=str(ref_out.dtype), port_dtype=str(port_out.dtype),
                         get_ref=get_ref, get_port=get_port)
    return explain_pair(ref_out, port_out, ctx)


