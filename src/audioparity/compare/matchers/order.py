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
- a guess whose values disagree while the next checked pair agrees again is dropped (unless
  the two are strongly correlated: a scale or sign bug on the same tensor): a real bug
  propagates, a wrong pairing (an ``Identity`` against a codebook lookup) does not. Those
  tensors are reported as not aligned, with a note, never as a divergence.
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
#: |correlation| at or above which a disagreeing guess is the same tensor with a bug
RELATED = 0.9


@matcher(50, "order")
def match(state: AlignState) -> None:
    if not state.by_order:
        return
    _pass(state, repair=True)
    _pair_nearby(state)
    _pass(state, repair=False)  # what is left, between the pairs now made
    _pair_nearby(state)
    _drop_unpropagated(state)


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
    agreeing = {}
    for r in seg_ref:
        p = by_ref.get(r.name)
        if p is not None and state.difference(r.name, p) <= AGREE:
            agreeing[r.name] = p
    used = set(agreeing.values())
    for r in seg_ref:
        if r.name in agreeing:
            continue
        best, best_d = None, AGREE
        for p in seg_port:
            if p.name in used or not state.compatible(r, p) or \
                    state.types_conflict(r.name, p.name):
                continue
            d = state.difference(r.name, p.name)
            if d <= best_d:
                best, best_d = p.name, d
        if best is not None:
            agreeing[r.name] = best
            used.add(best)
    for r, p in agreeing.items():
        state.matched[p] = (r, "order+value")
    # guesses whose values disagree are left to _pair_nearby (closest values) and the
    # second order pass: an order guess must not win over a candidate that fits better


def _pair_nearby(state: AlignState) -> None:
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
            if cand.name not in free_port or not state.compatible(info, cand) or \
                    state.types_conflict(info.name, cand.name):
                continue
            d = state.difference(info.name, cand.name)
            if d < float("inf"):
                options.append((d, state.ref_pos[info.name], j, info.name, cand.name))
    taken: set[str] = set()
    for d, _, _, ref, port in sorted(options):  # closest values first, then earliest
        if ref in taken or port not in free_port:
            continue
        state.matched[port] = (ref, "order+value" if d <= AGREE else "order")
        taken.add(ref)
        free_port.discard(port)


def _drop_unpropagated(state: AlignState) -> None:
    """Unpair disagreeing order guesses whose error does not propagate.

    A guess (method ``order``: values not agreeing) is dropped when the next pair that is not
    itself such a guess agrees, unless the two are strongly correlated (a scale, sign or
    precision bug on the same tensor).
    """
    if state.fingerprints is None:
        return
    by_ref = sorted(((state.ref_pos[r], p, r, m) for p, (r, m) in state.matched.items()))
    run: list[tuple[str, str]] = []
    for _, p, r, method in by_ref:
        if method == "order" and state.difference(r, p) > AGREE:
            run.append((p, r))
            continue
        if run and state.difference(r, p) <= AGREE:
            for p_bad, r_bad in run:
                rel = state.relatedness(r_bad, p_bad)
                if rel is not None and rel >= RELATED:
                    continue
                del state.matched[p_bad]
                state.notes.append(
                    f"'{r_bad}' and port '{p_bad}' sit at the same place with compatible "
                    "shapes but their values differ and the tensors after them agree: not "
                    "the same tensor, left unaligned")
        run = []
