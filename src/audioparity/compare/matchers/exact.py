"""Exact names: a port tensor named like a reference tensor is that tensor.

Unless both traces record the modules' classes and they disagree: reference ``condnet.1``
an ``ELU``, port ``condnet.1`` a ``Conv1d`` (the port calls ELU as a function, so its
children are numbered one lower). Those are left to :mod:`.structure`.
"""

from __future__ import annotations

from ..state import AlignState
from . import matcher


@matcher(20, "name")
def match(state: AlignState) -> None:
    taken = {r for r, _ in state.matched.values()}
    for info in state.port:
        name = info.name
        if name in state.matched or name not in state.ref_info or name in taken:
            continue
        if state.types_conflict(name, name):
            continue
        state.matched[name] = (name, "name")
        taken.add(name)
