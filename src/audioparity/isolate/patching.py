"""Patch one component: run the whole port with that component's output replaced by the
reference's, and see whether everything downstream recovers.

Downstream at parity after the patch: the patched component was the only culprit. Still
divergent: another bug lies downstream, and the first component still divergent is named.
Torch ports are patched with a forward hook, MLX ports by swapping the module's class for
the call, ports given as callables through their ``hook`` callback
(:mod:`~audioparity.isolate.callable_port`).

>>> result = patch("ref.safetensors", port_model, "encoder")
>>> result.recovered, result.still_divergent
(False, ['decoder', 'output'])
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..sources.naming import ROOT_NAME
from ..trace import Trace, open_trace
from .engine import resolve_components, root_inputs, run_end_to_end, single_call
from .port import as_port
from .recorded import check_component, default_components, read_tensor, slot_names
from .result import PatchedRow, PatchResult


def patch(reference: str | Path | Trace, port: Any, component: str,
          components: Sequence[str] | None = None, *, rtol: float | None = None,
          atol: float | None = None) -> PatchResult:
    """Run ``port`` end to end twice on the reference's root inputs — as it is, then with
    ``component``'s output replaced by the reference's — and judge every checked component
    after it (and the root's ``output``) both times. ``components`` defaults to the root's
    direct children recorded with inputs.

    Raises :class:`InputError` when the reference lacks the component or the root's inputs,
    :class:`UsageError` when the port cannot be run end to end by the tool.
    """
    if not isinstance(reference, Trace):
        with open_trace(reference) as ref:
            return patch(ref, port, component, components, rtol=rtol, atol=atol)
    ref = reference
    driver = as_port(port)
    if driver.run is None:
        raise UsageError(f"cannot patch a {driver.kind} port: patching runs the whole port, "
                         "which needs a torch or MLX module, or a CallablePort with a forward "
                         "that passes component outputs through its hook")
    check_component(ref, component, need_inputs=False)
    base = list(components) if components else default_components(ref)
    names = resolve_components(ref, base if component in base else [*base, component])
    several = [n for n in names if not single_call(n)]
    if several:
        raise UsageError(f"cannot patch with '{several[0]}' in the table: it is one call of "
                         "several (a @k/ step or #k repeat), and patching replaces and "
                         "watches a module's first call only")
    downstream = names[names.index(component) + 1:]
    if ROOT_NAME in ref and ROOT_NAME not in downstream:
        downstream.append(ROOT_NAME)
    root_inputs(ref)  # InputError now when the root's inputs were not recorded
    expected = {k: read_tensor(ref, n) for k, n in slot_names(ref, component)[1].items()}
    before, _ = run_end_to_end(ref, driver, downstream, {}, rtol, atol)
    after, _ = run_end_to_end(ref, driver, downstream, {component: expected}, rtol, atol)
    return PatchResult(component, [PatchedRow(n, before[n], after[n]) for n in downstream])
