"""Pair the tensors of a reference trace with those of a port trace.

Three passes, each over what the previous left unpaired:

1. **name**: the port name (translated by the map rules) equals a reference name;
2. **suffix**: one side's module path ends with the other's at a dot boundary, uniquely
   (a wrapper prefix such as ``model.`` or ``m.`` on one side);
3. **order**: between consecutive paired anchors, a longest-common-subsequence alignment
   in execution order where equal shapes match (same elements in another axis order match
   too, more weakly: that is how a layout bug looks). Entries either side may be missing.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from ..trace import TensorInfo
from .mapping import MapRules, split_name

#: DP cells above which the order pass gives up on a segment (memory: 4 bytes a cell)
MAX_DP_CELLS = 40_000_000


@dataclass(frozen=True)
class Pair:
    ref: str
    port: str
    method: str  # "name" | "map" | "suffix" | "order"


@dataclass
class Alignment:
    pairs: list[Pair]  # in reference execution order
    unmatched_ref: list[str]
    unmatched_port: list[str]
    skipped_segments: int = 0  # order-pass segments too large to align


def align(ref: list[TensorInfo], port: list[TensorInfo], rules: MapRules | None = None,
          by_order: bool = True) -> Alignment:
    """Align two traces' tensors; see the module docstring."""
    rules = rules or MapRules()
    ref_index = {info.name: i for i, info in enumerate(ref)}
    port_to_ref: dict[str, tuple[str, str]] = {}
    for info in port:
        if info.name in ref_index:
            port_to_ref[info.name] = (info.name, "name")
    for info in port:
        if info.name in port_to_ref:
            continue
        mapped = rules.to_ref(info.name)
        if mapped != info.name and mapped in ref_index:
            port_to_ref[info.name] = (mapped, "map")
    matched = _dedupe(port_to_ref, [p.name for p in port])
    _suffix_pass(ref, port, matched)
    skipped = 0
    if by_order:
        skipped = _order_pass(ref, port, matched)
    by_ref = {r: (p, m) for p, (r, m) in matched.items()}
    pairs = [Pair(info.name, *by_ref[info.name]) for info in ref if info.name in by_ref]
    return Alignment(
        pairs=pairs,
        unmatched_ref=[i.name for i in ref if i.name not in by_ref],
        unmatched_port=[i.name for i in port if i.name not in matched],
        skipped_segments=skipped,
    )


def _dedupe(port_to_ref: dict[str, tuple[str, str]], port_order: list[str]) -> dict:
    """Keep the first port tensor for each reference name."""
    taken: set[str] = set()
    out = {}
    for name in port_order:
        if name in port_to_ref and port_to_ref[name][0] not in taken:
            out[name] = port_to_ref[name]
            taken.add(port_to_ref[name][0])
    return out


def _suffix_keys(name: str) -> list[tuple[str, str, str]]:
    """Keys of ``name`` with 1, 2, … leading path components removed."""
    step, path, suffix = split_name(name)
    parts = path.split(".")
    return [(step, ".".join(parts[cut:]), suffix) for cut in range(1, len(parts))]


def _suffix_pass(ref: list[TensorInfo], port: list[TensorInfo], matched: dict) -> None:
    """Pair names equal up to a wrapper prefix on either side, when unambiguous."""
    taken = {r for r, _ in matched.values()}
    free_ref = {i.name: i for i in ref if i.name not in taken}
    free_port = {i.name: i for i in port if i.name not in matched}
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
            if claims[r] == 1 and free_ref[r].shape == free_port[p].shape:
                matched[p] = (r, "suffix")


def _order_pass(ref: list[TensorInfo], port: list[TensorInfo], matched: dict) -> int:
    """LCS between anchors; fills ``matched`` in place; returns segments skipped."""
    ref_pos = {info.name: i for i, info in enumerate(ref)}
    anchors = sorted((ref_pos[r], j) for j, p in enumerate(port) if p.name in matched
                     for r in [matched[p.name][0]])
    # keep anchors monotonic in both orders (longest increasing run is overkill: greedy)
    mono, last_j = [], -1
    for i, j in anchors:
        if j > last_j:
            mono.append((i, j))
            last_j = j
    bounds = [(-1, -1)] + mono + [(len(ref), len(port))]
    taken = {r for r, _ in matched.values()}
    skipped = 0
    for (i0, j0), (i1, j1) in itertools.pairwise(bounds):
        seg_ref = [ref[i] for i in range(i0 + 1, i1) if ref[i].name not in taken]
        seg_port = [port[j] for j in range(j0 + 1, j1) if port[j].name not in matched]
        if not seg_ref or not seg_port:
            continue
        if len(seg_ref) * len(seg_port) > MAX_DP_CELLS:
            skipped += 1
            continue
        for a, b in _lcs(seg_ref, seg_port):
            matched[seg_port[b].name] = (seg_ref[a].name, "order")
    return skipped


def _leaf(name: str) -> str:
    """Last path component plus suffix: ``mlp.gate_proj:out1`` -> ``gate_proj:out1``."""
    _, path, suffix = split_name(name)
    return path.rsplit(".", 1)[-1] + suffix


def _lcs(a: list[TensorInfo], b: list[TensorInfo]) -> list[tuple[int, int]]:
    """Weighted LCS, vectorised one row at a time.

    A pair scores 4 for equal shapes, 2 for the same dimensions in another order, plus 1
    when the leaf names agree (which breaks ties between equally shaped neighbours).
    """
    n, m = len(a), len(b)
    ids: dict[object, int] = {}
    b_shape = np.array([ids.setdefault(x.shape, len(ids)) for x in b])
    b_sorted = np.array([ids.setdefault(("sorted", *sorted(x.shape)), len(ids)) for x in b])
    b_leaf = np.array([ids.setdefault(("leaf", _leaf(x.name)), len(ids)) for x in b])
    b_big = np.array([x.numel > 1 for x in b])
    table = np.zeros((n + 1, m + 1), dtype=np.int32)
    weights = np.zeros((n, m), dtype=np.int8)
    for i, x in enumerate(a):
        same = b_shape == ids.get(x.shape, -1)
        permuted = (b_sorted == ids.get(("sorted", *sorted(x.shape)), -1)) & b_big
        w = np.where(same, 4, np.where(permuted, 2, 0))
        w = np.where(w > 0, w + (b_leaf == ids.get(("leaf", _leaf(x.name)), -1)), 0)
        weights[i] = w
        prev = table[i]
        t = np.maximum(prev[1:], np.where(w > 0, prev[:-1] + w, 0))
        table[i + 1, 1:] = np.maximum.accumulate(t)
    pairs = []
    i, j = n, m
    while i > 0 and j > 0:
        w = int(weights[i - 1, j - 1])
        if w > 0 and table[i, j] == table[i - 1, j - 1] + w:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif table[i - 1, j] >= table[i, j - 1]:
            i -= 1
        else:
            j -= 1
    return pairs[::-1]
