"""Map rules first: a map file's ``pairs``/``rename``/``regex``/prefix rules win over exact
names (a user who wrote a rule meant it).

A rule that pairs nothing becomes a note; two port tensors that the rules send to one
reference tensor are an error naming both (exit 2), never a silent pick.
"""

from __future__ import annotations

from ...errors import InputError
from ..state import AlignState
from . import matcher


@matcher(10, "map")
def match(state: AlignState) -> None:
    rules = state.rules
    if rules.is_empty:
        return
    used: set[str] = set()
    claimed: dict[str, tuple[str, list[str]]] = {}
    for info in state.port:
        hit = rules.translate(info.name)
        if hit is None:
            continue
        ref, labels = hit
        if ref not in state.ref_info:
            continue
        if ref in claimed:
            other, other_labels = claimed[ref]
            raise InputError(rules.source, f"port tensors '{other}' ({', '.join(other_labels)}) "
                                           f"and '{info.name}' ({', '.join(labels)}) both map "
                                           f"to reference tensor '{ref}'")
        claimed[ref] = (info.name, labels)
        used.update(labels)
        state.pair(info.name, ref, "map")
    for label in rules.rule_labels():
        if label not in used:
            state.notes.append(f"map rule {label} paired no tensor")
