"""Execution order and shape, checked by values.

Between consecutive pairs already made (anchors), a weighted longest-common-subsequence in
execution order pairs tensors whose shapes agree — equal (4), equal under a port convention
(3), the same dimensions in another order (2: how a layout bug looks) — plus 1 when the leaf
names agree. A recorded input (``NAME:in0``) against a port output scores 1: ports that do
not record inputs must not shift onto them.

Every guess is then checked by value fingerprints:

- a guessed pair whose values disagree while another candidate in the segment agrees is
  replaced by that candidate (llama.cpp computes ``ffn_up`` before ``ffn_gate``: order alone
  pairs gate with up) — ``order+value``;
- a guess whose values agree is marked ``order+value``; one that could not be checked
  stays ``order``;
- reference tensors still free are paired with a port tensor computed near them, agreeing
  values first (:func:`_pair_nearby`); a guess that stays unverified is checked once more by
  :mod:`.verify` (a real bug propagates, a wrong pairing does not).
"""

from __future__ import annotations

import bisect
import itertools
from collections import Counter

import numpy as np

from ...trace import TensorInfo
from ..fingerprint import AGREE
from ..mapping import split_name
from ..state import AlignState, is_input
from . import matcher

#: DP cells above which the order pass gives up on a segment (memory: 4 bytes a cell)
MAX_DP_CELLS = 40_000_000
#: compatible cells above which a segment's value repair is skipped (cost)
MAX_VALUE_CELLS = 20_000
#: pairs on each side that bound where a leftover tensor's counterpart may sit
NEARBY = 2
#: |correlation| at or above which disagreeing values still vouch for a pair (a scale,
#: sign or affine slip on the same tensor keeps ~1)
RELATED = 0.98
#: port positions around its order guess where a better-agreeing counterpart is looked for
REPAIR_WINDOW = 4


@matcher(50, "order")
def match(state: AlignState) -> None:
    if not state.by_order:
        return
    _pass(state, repair=True)
    _pair_nearby(state, agreeing_only=True)
    _pass(state, repair=False)  # what is left, between the pairs now made
    _pair_nearby(state, agreeing_only=False)


def _pass(state: AlignState, repair: bool) -> None:
    """LCS in every segment between monotonic anchors (the pairs made so far)."""
    ref_pos, port_pos = state.ref_pos, state.port_pos
    anchors = sorted((ref_pos[r], port_pos[p]) for p, (r, _) in state.matched.items())
    mono, last_j = [], -1
    for i, j in anchors:
        if j > last_j:
            mono.append((i, j))
            last_j = j
    bounds = [(-1, -1)] + mono + [(len(state.ref), len(state.port))]
    for (i0, j0), (i1, j1) in itertools.pairwise(bounds):
        taken = {r for r, _ in state.matched.values()}
        seg_ref = [state.ref[i] for i in range(i0 + 1, i1) if state.ref[i].name not in taken]
        seg_port = [state.port[j] for j in range(j0 + 1, j1)
                    if state.port[j].name not in state.matched]
        if not seg_ref or not seg_port:
            continue
        if len(seg_ref) * len(seg_port) > MAX_DP_CELLS:
            state.skipped_segments += repair
            continue
        if not repair:  # an unchecked guess never stands a port output in for a ref input
            seg_ref = [r for r in seg_ref if not is_input(r.name)] or \
                [r for r in seg_ref if any(is_input(p.name) for p in seg_port)]
            if not seg_ref:
                continue
        guesses = {seg_port[b].name: seg_ref[a].name for a, b in _lcs(state, seg_ref, seg_port)}
        if repair:
            _check_by_value(state, seg_ref, seg_port, guesses)
            continue
        for p, r in guesses.items():
            if not state.types_conflict(r, p):
                state.matched[p] = (r, "order+value" if state.agrees(r, p) else "order")


def _leaf(name: str) -> str:
    """Last path component plus suffix: ``mlp.gate_proj:out1`` -> ``gate_proj:out1``."""
    _, path, suffix = split_name(name)
    return path.rsplit(".", 1)[-1] + suffix


def _shape_score(state: AlignState, r: TensorInfo, p: TensorInfo) -> int:
    if r.shape == p.shape:
        score = 4
    elif state.transforms(r, p):
        score = 3
    elif sorted(r.shape) == sorted(p.shape) and p.numel > 1:
        score = 2
    else:
        return 0
    if is_input(r.name) and not is_input(p.name):
        return 1
    return score


def _lcs(state: AlignState, a: list[TensorInfo], b: list[TensorInfo]) -> list[tuple[int, int]]:
    """Weighted LCS, vectorised one row at a time (see the module docstring for weights)."""
    n, m = len(a), len(b)
    shapes_b: dict[tuple, list[int]] = {}
    for j, x in enumerate(b):
        shapes_b.setdefault((x.shape, is_input(x.name)), []).append(j)
    leaf_ids: dict[str, int] = {}
    b_leaf = np.array([leaf_ids.setdefault(_leaf(x.name), len(leaf_ids)) for x in b])
    row_cache: dict[tuple, np.ndarray] = {}
    table = np.zeros((n + 1, m + 1), dtype=np.int32)
    weights = np.zeros((n, m), dtype=np.int8)
    for i, x in enumerate(a):
        key = (x.shape, is_input(x.name))
        if key not in row_cache:
            w = np.zeros(m, dtype=np.int8)
            for cols in shapes_b.values():
                rep = b[cols[0]]
                w[cols] = _shape_score(state, x, rep)
            row_cache[key] = w
        w = row_cache[key]
        w = np.where(w > 0, w + (b_leaf == leaf_ids.get(_leaf(x.name), -1)), 0)
        weights[i] = w
        prev = table[i]
        t = np.maximum(prev[1:], np.where(w > 0, prev[:-1] + w, 0))
        table[i + 1, 1:] = np.maximum.accumulate(t)
    pairs = []
    i, j = n, m
    while i > 0 and j > 0:
        w = int(weights[i - 1, j - 1])
        if table[i - 1, j] == table[i, j]:
            i -= 1  # ties go to the earlier reference tensor: the producer, not a copy
        elif w > 0 and table[i, j] == table[i - 1, j - 1] + w:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        else:
            j -= 1
    return pairs[::-1]


def _check_by_value(state: AlignState, seg_ref: list[TensorInfo], seg_port: list[TensorInfo],
                    guesses: dict[str, str]) -> None:
    """Take the guesses, replacing those whose values another candidate matches better."""
    if state.fingerprints is None:
        for p, r in guesses.items():
            state.matched[p] = (r, "order")
        return
    ref_shapes = Counter(r.shape for r in seg_ref)
    port_shapes: dict[tuple, TensorInfo] = {}
    port_counts = Counter(p.shape for p in seg_port)
    for p in seg_port:
        port_shapes.setdefault(p.shape, p)
    cells = sum(nr * port_counts[ps] for rs, nr in ref_shapes.items()
                for ps, pinfo in port_shapes.items()
                if state.compatible(next(r for r in seg_ref if r.shape == rs), pinfo))
    if cells > MAX_VALUE_CELLS:
        for p, r in guesses.items():
            state.matched[p] = (r, "order+value" if state.agrees(r, p) else "order")
        return
    by_ref = {r: p for p, r in guesses.items()}
    expected = _expected_positions(state, seg_ref, by_ref)
    agreeing: dict[str, str] = {}
    used: set[str] = set()
    for tier in (0, 1):  # values that agree first, then values that correlate
        for r in seg_ref:
            p = by_ref.get(r.name)
            if r.name in agreeing or p is None or p in used:
                continue
            key = _value_key(state, r.name, p)
            if key is not None and key[0] == tier and _may_pair(state, r, state.port_info[p],
                                                                 tier):
                agreeing[r.name] = p
                used.add(p)
        for r in seg_ref:
            if r.name in agreeing:
                continue
            best, best_key = None, None
            for p in seg_port:
                if p.name in used or \
                        abs(state.port_pos[p.name] - expected[r.name]) > REPAIR_WINDOW or \
                        not _may_pair(state, r, p, tier):
                    continue
                key = _value_key(state, r.name, p.name)
                if key is not None and key[0] == tier and (best_key is None or key < best_key):
                    best, best_key = p.name, key
            if best is not None:
                agreeing[r.name] = best
                used.add(best)
    for r, p in agreeing.items():
        state.matched[p] = (r, "order+value")
    # guesses whose values disagree are left to _pair_nearby (closest values) and the
    # second order pass: an order guess must not win over a candidate that fits better


def _pair_nearby(state: AlignState, agreeing_only: bool) -> None:
    """Pair a reference tensor still free with a free port tensor computed near it.

    "Near" is between the port tensors of the two pairs before and the two after it in
    reference order, so a pair that execution order swaps (``ffn_up`` before ``ffn_gate``)
    is found even when its values disagree (a bug in it). The closest values claim first.
    """
    if state.fingerprints is None:
        return
    by_ref = sorted((state.ref_pos[r], state.port_pos[p]) for p, (r, _) in state.matched.items())
    ref_idx = [i for i, _ in by_ref]
    free_port = {i.name for i in state.free_port()}
    options = []
    for info in state.free_ref():
        k = bisect.bisect_left(ref_idx, state.ref_pos[info.name])
        around = [j for _, j in by_ref[max(k - NEARBY, 0):k + NEARBY]]
        if len(around) < 2:
            continue
        for j in range(min(around) + 1, max(around)):
            cand = state.port[j]
            if cand.name not in free_port or not _may_pair(state, info, cand):
                continue
            key = _value_key(state, info.name, cand.name)
            if key is not None and key[0] > 0 and is_input(info.name) != is_input(cand.name):
                key = None  # a correlation never pairs an input with an output
            d = state.difference(info.name, cand.name)
            if key is not None or (d < float("inf") and not agreeing_only):
                rank = key if key is not None else (2, d)
                options.append((rank, state.ref_pos[info.name], j, info.name, cand.name, d))
    taken: set[str] = set()
    for rank, _, _, ref, port, d in sorted(options):  # best values first, then earliest
        if ref in taken or port not in free_port:
            continue
        state.matched[port] = (ref, "order+value" if rank[0] < 2 else "order")
        taken.add(ref)
        free_port.discard(port)


def _value_key(state: AlignState, ref: str, port: str) -> tuple[int, float] | None:
    """How well the values vouch for a pair (lower is better), None when they do not: they
    agree (0, difference), or they correlate at |corr| >= RELATED — the same tensor with a
    scale or sign slip, which must still pair (1, -correlation)."""
    d = state.difference(ref, port)
    if d <= AGREE:
        return (0, d)
    if d == float("inf"):
        return None
    rel = state.relatedness(ref, port)
    if rel is not None and rel >= RELATED:
        return (1, -rel)
    return None


def _may_pair(state: AlignState, r: TensorInfo, p: TensorInfo, tier: int = 0) -> bool:
    """Shapes compatible, module kinds not in conflict, and not a port *input* standing for a
    reference *output* (a port that records inputs has the output itself too); a correlation
    (``tier`` 1) never pairs an input with an output: a norm's input and output correlate."""
    if is_input(p.name) != is_input(r.name) and (is_input(p.name) or tier > 0):
        return False
    return state.compatible(r, p) and not state.types_conflict(r.name, p.name)


def _expected_positions(state: AlignState, seg_ref: list[TensorInfo], by_ref: dict[str, str]
                        ) -> dict[str, int]:
    """Where each reference tensor's counterpart should sit in the port: its order guess, else
    just after the previous guess."""
    out, last = {}, -1
    for r in seg_ref:
        if r.name in by_ref:
            last = state.port_pos[by_ref[r.name]]
            out[r.name] = last
        else:
            out[r.name] = last + 1
    return out
