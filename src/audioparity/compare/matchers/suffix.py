"""Wrapper prefixes: one side's module path ends with the other's at a dot boundary.

``wrapper.model.layers.0.mlp`` against ``model.layers.0.mlp``: paired when exactly one
candidate exists on each side and the shapes agree (under the port conventions).
"""

from __future__ import annotations

from collections import defaultdict

from ..mapping import split_name
from ..state import AlignState
from . import matcher


def _suffix_keys(name: str) -> list[tuple[str, str, str]]:
    """Keys of ``name`` with 1, 2, … leading path components removed."""
    step, path, suffix = split_name(name)
    parts = path.split(".")
    return [(step, ".".join(parts[cut:]), suffix) for cut in range(1, len(parts))]


@matcher(40, "suffix")
def match(state: AlignState) -> None:
    free_ref = {i.name: i for i in state.free_ref()}
    free_port = {i.name: i for i in state.free_port()}
    if not free_ref or not free_port:
        return
    ref_full = {split_name(n): n for n in free_ref}
    ref_tails: dict[tuple, list[str]] = defaultdict(list)
    for n in free_ref:
        for key in _suffix_keys(n):
            ref_tails[key].append(n)
    candidates: dict[str, set[str]] = {}
    for p in free_port:
        found = {ref_full[k] for k in _suffix_keys(p) if k in ref_full}
        found.update(ref_tails.get(split_name(p), []))
        if found:
            candidates[p] = found
    claims: dict[str, int] = defaultdict(int)
    for found in candidates.values():
        for r in found:
            claims[r] += 1
    for p, found in candidates.items():
        if len(found) == 1:
            (r,) = found
            if claims[r] == 1 and state.compatible(free_ref[r], free_port[p]) \
                    and not state.types_conflict(r, p):
                state.matched[p] = (r, "suffix")
