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
    _mlx_sequential(state)
    _renumbered_children(state)


def _mlx_sequential(state: AlignState) -> None:
    free_ref = {i.name for i in state.free_ref()}
    for info in state.free_port():
        step, path, suffix = split_name(info.name)
        cand = step + _MLX_LAYERS.sub(r"\1\2", path) + suffix
        if cand != info.name and cand in free_ref and \
                state.compatible(state.ref_info[cand], info) and \
                not state.types_conflict(cand, info.name):
            state.matched[info.name] = (cand, "structure")
            free_ref.discard(cand)


def _children(paths: set[str]) -> dict[str, set[int]]:
    """parent path -> numbered children seen below it."""
    out: dict[str, set[int]] = defaultdict(set)
    for path in paths:
        parts = path.split(".")
        for k, part in enumerate(parts):
            if part.isdigit() and k > 0:
                out[".".join(parts[:k])].add(int(part))
    return out


def _representative(names: dict[str, str], parent: str, child: int) -> str | None:
    """The trace name of the child's output (first step), if recorded."""
    return names.get(f"{parent}.{child}")


def _renumbered_children(state: AlignState) -> None:
    ref_paths = {split_name(i.name)[1] for i in state.ref}
    port_paths = {split_name(i.name)[1] for i in state.port}
    ref_out = {}
    for i in state.ref:
        _step, path, suffix = split_name(i.name)
        if not suffix:
            ref_out.setdefault(path, i.name)
    port_out = {}
    for i in state.port:
        _step, path, suffix = split_name(i.name)
        if not suffix:
            port_out.setdefault(path, i.name)
    ref_kids, port_kids = _children(ref_paths), _children(port_paths)
    for parent in sorted(set(ref_kids) & set(port_kids), key=lambda p: p.count(".")):
        rk, pk = sorted(ref_kids[parent]), sorted(port_kids[parent])
        conflict = any(module_kind(state.ref_modules.get(f"{parent}.{c}")) not in (
            None, module_kind(state.port_modules.get(f"{parent}.{c}")))
            and module_kind(state.port_modules.get(f"{parent}.{c}")) is not None
            for c in set(rk) & set(pk))
        if rk == pk and not conflict:
            continue
        mapping = _align_children(state, parent, rk, pk, ref_out, port_out)
        if not mapping or all(a == b for b, a in mapping.items()):
            continue
        _apply(state, parent, mapping)


def _child_score(state: AlignState, r: str | None, p: str | None) -> int:
    if r is None or p is None:
        return 0
    ri, pi = state.ref_info[r], state.port_info[p]
    if state.types_conflict(r, p) or not state.compatible(ri, pi):
        return 0
    return 3 if state.difference(r, p) <= AGREE else 1


def _align_children(state: AlignState, parent: str, rk: list[int], pk: list[int],
                    ref_out: dict, port_out: dict) -> dict[int, int]:
    """port child index -> reference child index, by an LCS over kind, shape and values."""
    reps_r = [ref_out.get(f"{parent}.{c}") for c in rk]
    reps_p = [port_out.get(f"{parent}.{c}") for c in pk]
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
    # evidence: the renumbering must be backed by agreeing values or module classes
    backed = any(score[rk.index(a), pk.index(b)] == 3 or (
        state.ref_modules and state.port_modules) for b, a in out.items() if a != b)
    return out if backed else {}


def _apply(state: AlignState, parent: str, mapping: dict[int, int]) -> None:
    """Re-pair every port tensor below a renumbered child with the reference's."""
    head = parent + "."
    for info in state.port:
        step, path, suffix = split_name(info.name)
        if not path.startswith(head):
            continue
        rest = path[len(head):].split(".", 1)
        if not rest[0].isdigit() or int(rest[0]) not in mapping:
            continue
        new_idx = mapping[int(rest[0])]
        if new_idx == int(rest[0]):
            continue
        new_path = head + str(new_idx) + ("." + rest[1] if len(rest) > 1 else "")
        ref = step + new_path + suffix
        if ref not in state.ref_info or state.matched.get(info.name, ("", ""))[1] == "map":
            continue
        if any(r == ref and m == "map" for r, m in state.matched.values()):
            continue
        state.pair(info.name, ref, "structure")
