"""Narrow a component that is wrong in isolation down to its innermost wrong submodule.

Its recorded submodules (those the reference recorded with inputs) are run in isolation in
execution order; the first one wrong on the reference's own inputs is narrowed in turn.
When every submodule is right, the fault is the component's own code between them, and the
component itself is the innermost. Ports that cannot resolve a submodule (a callable port
naming only top-level components) stop the narrowing there.

>>> [step.name for step in narrow_down(ref, driver, call, check, outputs, run, {})]
['encoder', 'encoder.block.0', 'encoder.block.0.res_unit1', 'encoder.block.0.res_unit1.snake1']
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..compare.mapping import split_name
from ..trace import Trace
from .check import Check
from .port import MissingComponent, Port, Slots
from .recorded import RecordedCall, components_in, execution_order, recorded_call, slot_names


@dataclass
class Step:
    """One level of the narrowing: a module wrong in isolation, with what it returned."""

    name: str
    call: RecordedCall
    check: Check
    outputs: Slots
    #: submodules that raised when run alone (the fault may hide in one of them)
    skipped: list[str] = field(default_factory=list)


def submodules(ref: Trace, name: str) -> list[str]:
    """The recorded submodules directly under ``name``: recorded with inputs, with no other
    such module between them and ``name`` (a ``ModuleList`` that is never called is
    skipped), in execution order."""
    step, path, suffix = split_name(name)
    prefix = f"{step}{path}."
    inner = [n for n in components_in(ref)
             if n.startswith(prefix) and split_name(n)[2] == suffix and slot_names(ref, n)[0]]
    direct = [n for n in inner if not any(n.startswith(f"{m}.") for m in inner if m != n)]
    return execution_order(ref, direct)


def narrow_down(ref: Trace, driver: Port, call: RecordedCall, check: Check, outputs: Slots,
           run, modules: dict[str, str], max_depth: int = 12) -> list[Step]:
    """The chain from ``call``'s component to its innermost submodule wrong in isolation.

    ``run(driver, call)`` runs one component isolated and returns ``(check, outputs)``.
    """
    chain = [Step(call.name, call, check, outputs)]
    while len(chain) <= max_depth:
        found = None
        for child in submodules(ref, chain[-1].name):
            try:
                driver.component(child)
            except MissingComponent:
                return chain
            child_call = recorded_call(ref, child, modules)
            child_check, child_outputs = run(driver, child_call)
            if child_check.status == "error":
                chain[-1].skipped.append(child)
            if child_check.wrong:
                found = Step(child, child_call, child_check, child_outputs)
                break
        if found is None:
            return chain
        chain.append(found)
    return chain
