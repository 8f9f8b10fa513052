"""Structural name normalisation: the same module tree, numbered or nested differently.

- **MLX ``Sequential``** names its children ``block.layers.0`` where torch says ``block.0``.
- **Renumbered children**: a port that calls an activation as a function where the
  reference has a module (``nn.ELU``) numbers the parent's later children one lower —
  reference ``condnet.0`` conv, ``condnet.1`` ELU, ``condnet.2`` conv against port
  ``condnet.0`` conv, ``condnet.1`` conv. Where a parent's numbered children differ in count
  (or the recorded module classes disagree), its children are aligned by module kind,
  shape and values, and every tensor below a renumbered child follows it, overriding the
  exact-name pairs that the numbering made wrong.
"""

from __future__ import annotations

import re
from collections import defaultdict

import numpy as np

from ..fingerprint import AGREE
from ..mapping import split_name
from ..state import AlignState, module_kind
from . import matcher

_MLX_LAYERS = re.compile(r"(^|\.)layers\.(\d+)(?=\.|$)")


@matcher(30, "structure")
def match(state: AlignState) -> None:
    alias = _sequential_alias(state)
    mappings = _renumbered_children(state, alias)
    _pair(state, alias, mappings)


def _sequential_alias(state: AlignState) -> dict[str, str]:
    """port name -> its name with MLX ``Sequential`` ``.layers.N`` read as ``.N``, where the
    reference has that parent."""
    ref_paths = {split_name(i.name)[1] for i in state.ref}
    ref_parents = {p.rsplit(".", 1)[0] for p in ref_paths if "." in p} | ref_paths
    alias = {}
    for info in state.port:
        step, path, suffix = split_name(info.name)
        new = _MLX_LAYERS.sub(r"\1\2", path)
        if new != path and (new in ref_paths or new.rsplit(".", 1)[0] in ref_parents):
            alias[info.name] = step + new + suffix
    return alias


def _children(paths: set[str]) -> dict[str, set[int]]:
    """parent path -> numbered children seen below it."""
    out: dict[str, set[int]] = defaultdict(set)
    for path in paths:
        parts = path.split(".")
        for k, part in enumerate(parts):
            if part.isdigit() and k > 0:
                out[".".join(parts[:k])].add(int(part))
    return out


def _outputs(names: list[str]) -> dict[str, str]:
    """module path -> its first recorded output name."""
    out: dict[str, str] = {}
    for name in names:
        _, path, suffix = split_name(name)
        if not suffix:
            out.setdefault(path, name)
    return out


def _renumbered_children(state: AlignState, alias: dict[str, str]) -> dict[str, dict[int, int]]:
    """parent path -> {port child index: reference child index} where they differ."""
    port_names = [alias.get(i.name, i.name) for i in state.port]
    back = {alias.get(i.name, i.name): i.name for i in state.port}
    ref_out, port_out = _outputs([i.name for i in state.ref]), _outputs(port_names)
    ref_kids = _children({split_name(i.name)[1] for i in state.ref})
    port_kids = _children({split_name(n)[1] for n in port_names})
    out = {}
    for parent in sorted(set(ref_kids) & set(port_kids), key=lambda p: p.count(".")):
        rk, pk = sorted(ref_kids[parent]), sorted(port_kids[parent])
        kinds = [(module_kind(state.ref_modules.get(f"{parent}.{c}")),
                  module_kind(state.port_modules.get(f"{parent}.{c}"))) for c in set(rk) & set(pk)]
        conflict = any(a is not None and b is not None and a != b for a, b in kinds)
        if rk == pk and not conflict:
            continue
        reps_r = [ref_out.get(f"{parent}.{c}") for c in rk]
        reps_p = [back.get(port_out.get(f"{parent}.{c}", ""), None) for c in pk]
        mapping = _align_children(state, rk, pk, reps_r, reps_p)
        if mapping and any(a != b for b, a in mapping.items()):
            out[parent] = mapping
    return out


def _child_score(state: AlignState, r: str | None, p: str | None) -> int:
    if r is None or p is None:
        return 0
    ri, pi = state.ref_info[r], state.port_info[p]
    if state.types_conflict(r, p) or not state.compatible(ri, pi):
        return 0
    return 3 if state.difference(r, p) <= AGREE else 1


def _align_children(state: AlignState, rk: list[int], pk: list[int], reps_r: list,
                    reps_p: list) -> dict[int, int]:
    """port child index -> reference child index, by an LCS over kind, shape and values."""
    n, m = len(rk), len(pk)
    score = np.array([[_child_score(state, r, p) for p in reps_p] for r in reps_r],
                     dtype=np.int64).reshape(n, m)
    table = np.zeros((n + 1, m + 1), dtype=np.int64)
    for i in range(n):
        for j in range(m):
            best = max(table[i, j + 1], table[i + 1, j])
            if score[i, j]:
                best = max(best, table[i, j] + score[i, j])
            table[i + 1, j + 1] = best
    out: dict[int, int] = {}
    i, j = n, m
    while i > 0 and j > 0:
        if score[i - 1, j - 1] and table[i, j] == table[i - 1, j - 1] + score[i - 1, j - 1]:
            out[pk[j - 1]] = rk[i - 1]
            i, j = i - 1, j - 1
        elif table[i - 1, j] >= table[i, j - 1]:
            i -= 1
        else:
            j -= 1
    # a renumbering needs evidence: agreeing values, or module classes on both sides
    moved = [(b, a) for b, a in out.items() if a != b]
    backed = any(score[rk.index(a), pk.index(b)] == 3 for b, a in moved) or bool(
        state.ref_modules and state.port_modules)
    return out if backed else {}


def _target(name: str, mappings: dict[str, dict[int, int]]) -> str:
    """``name`` with its children renumbered by ``mappings`` (parents shallowest first)."""
    step, path, suffix = split_name(name)
    parts = path.split(".")
    for k in range(1, len(parts)):
        parent = ".".join(parts[:k])
        if parent in mappings and parts[k].isdigit():
            idx = int(parts[k])
            if idx in mappings[parent]:
                parts[k] = str(mappings[parent][idx])
    return step + ".".join(parts) + suffix


def _pair(state: AlignState, alias: dict[str, str], mappings: dict[str, dict[int, int]]
          ) -> None:
    """Pair (or re-pair, over exact names) every port tensor whose structural name differs."""
    map_refs = {r for r, m in state.matched.values() if m == "map"}
    for info in state.port:
        name = alias.get(info.name, info.name)
        target = _target(name, mappings) if mappings else name
        if target == info.name or target not in state.ref_info or target in map_refs:
            continue
        if state.matched.get(info.name, ("", ""))[1] not in ("", "name"):
            continue
        ri = state.ref_info[target]
        if not state.compatible(ri, info) or state.types_conflict(target, info.name):
            continue
        state.pair(info.name, target, "structure")
