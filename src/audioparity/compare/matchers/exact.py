"""Exact names: a port tensor named like a reference tensor is that tensor.

Unless both traces record the modules' classes and they disagree: reference ``condnet.1``
an ``ELU``, port ``condnet.1`` a ``Conv1d`` (the port calls ELU as a function, so its
children are numbered one lower). Those are left to :mod:`.structure`. Activations whose
shapes no port convention reconciles wait until the other matchers ran (the same name may
stand for another tensor: transformers' Mimi ``decoder`` is the whole decoder path,
mlx-audio's the SEANet part); a pair still free then is paired by name.
"""

from __future__ import annotations

from ..conventions.infer import is_parameter
from ..state import AlignState
from . import matcher


@matcher(20, "name")
def match(state: AlignState) -> None:
    _pair_exact(state, late=False)


@matcher(55, "name, shapes differ")
def match_late(state: AlignState) -> None:
    """Exact names whose shapes no convention reconciles, once everything else had its turn
    (a shape bug is still reported; :mod:`.verify` unpairs those that are other tensors)."""
    _pair_exact(state, late=True)


def _pair_exact(state: AlignState, late: bool) -> None:
    taken = {r for r, _ in state.matched.values()}
    for info in state.port:
        name = info.name
        if name in state.matched or name not in state.ref_info or name in taken:
            continue
        if state.types_conflict(name, name):
            continue
        if not late and not state.compatible(state.ref_info[name], info) \
                and not is_parameter(name):
            continue  # maybe another tensor under the same name (mlx-audio's `encoder`)
        state.matched[name] = (name, "name")
        taken.add(name)
