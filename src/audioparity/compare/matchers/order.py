"""Execution order and shape, checked by values.

Anchors are the longest chain of pairs already made that increases in both execution
orders. Between consecutive anchors, a weighted longest-common-subsequence pairs tensors
whose shapes agree — equal (4), equal under a port convention (3), the same dimensions in
another order (2: how a layout bug looks) — plus 1 when the leaf names agree and 1 when the
recorded module kinds agree (conflicting kinds never pair). A recorded input (``NAME:in0``)
against a port output scores 1: ports that do not record inputs must not shift onto them.
Ties pair early tensors with early ones, and the earlier reference tensor (the producer).

Every guess is then checked by value fingerprints:

- a guess whose values agree is ``order+value``;
- one whose values disagree is replaced by a candidate within :data:`REPAIR_WINDOW` port
  positions whose values agree (llama.cpp computes ``ffn_up`` before ``ffn_gate``: order
  alone pairs gate with up), or kept when the two correlate at |corr| >= :data:`RELATED` (a
  scale or sign slip on the same tensor; it stays ``order``);
- reference tensors still free are paired with a port tensor computed near them, agreeing
  values first (:func:`_pair_nearby`); what is left is paired by order alone (``order``).

A guess that stays unverified is checked once more by :mod:`.verify` (a real bug
propagates, a wrong pairing does not).
"""

from __future__ import annotations

import bisect
import itertools

import numpy as np

from ...trace import TensorInfo
from ..fingerprint import AGREE
from ..mapping import split_name
from ..state import AlignState, is_input, module_kind
from . import matcher

#: DP cells above which the order pass gives up on a segment (memory: 4 bytes a cell)
MAX_DP_CELLS = 40_000_000
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
    bounds = [(-1, -1)] + _monotonic(anchors) + [(len(state.ref), len(state.port))]
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


def _kind(modules: dict[str, str], name: str) -> str | None:
    return module_kind(modules.get(split_name(name)[1]))


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
    """Weighted LCS, vectorised one row at a time (see the module docstring for weights).

    Module kinds recorded on both sides add 1 when they agree and forbid the pair when they
    differ. Among equally good alignments the one that pairs early tensors with early ones
    wins (the DP runs over suffixes and is read front to back): the pairs nearest the last
    anchor are the reliable ones, and a port with extra tensors (wrappers) or a trace that
    stops early is not shifted at its start.
    """
    n, m = len(a), len(b)
    ra, rb = a[::-1], b[::-1]
    shapes_b: dict[tuple, list[int]] = {}
    for j, x in enumerate(rb):
        shapes_b.setdefault((x.shape, is_input(x.name)), []).append(j)
    ids: dict[str, int] = {}
    b_leaf = np.array([ids.setdefault(_leaf(x.name), len(ids)) for x in rb])
    b_kind = np.array([ids.setdefault("kind:" + k, len(ids)) if k else -2
                       for k in (_kind(state.port_modules, x.name) for x in rb)])
    row_cache: dict[tuple, np.ndarray] = {}
    table = np.zeros((n + 1, m + 1), dtype=np.int32)
    weights = np.zeros((n, m), dtype=np.int16)
    for i, x in enumerate(ra):
        key = (x.shape, is_input(x.name))
        if key not in row_cache:
            w = np.zeros(m, dtype=np.int16)
            for cols in shapes_b.values():
                w[cols] = _shape_score(state, x, rb[cols[0]])
            row_cache[key] = w
        w = row_cache[key]
        w = np.where(w > 0, w + (b_leaf == ids.get(_leaf(x.name), -1)), 0)
        kind = _kind(state.ref_modules, x.name)
        if kind:
            k_id = ids.setdefault("kind:" + kind, len(ids))
            w = np.where((b_kind >= 0) & (b_kind != k_id), 0, w + (b_kind == k_id))
        weights[i] = w
        prev = table[i]
        t = np.maximum(prev[1:], np.where(w > 0, prev[:-1] + w, 0))
        table[i + 1, 1:] = np.maximum.accumulate(t)

    def best(i: int, j: int) -> int:  # best score of a[i:] against b[j:]
        return int(table[n - i, m - j])

    pairs = []
    i = j = 0
    while i < n and j < m:
        w = int(weights[n - 1 - i, m - 1 - j])
        here = best(i, j)
        if w > 0 and here == w + best(i + 1, j + 1):
            pairs.append((i, j))  # earliest pairs first; ties go to the earlier reference
            i, j = i + 1, j + 1    # tensor: the producer, not a copy
        elif best(i + 1, j) == here:
            i += 1
        else:
            j += 1
    return pairs


def _check_by_value(state: AlignState, seg_ref: list[TensorInfo], seg_port: list[TensorInfo],
                    guesses: dict[str, str]) -> None:
    """Take the guesses, replacing those whose values another candidate matches better."""
    if state.fingerprints is None:
        for p, r in guesses.items():
            state.matched[p] = (r, "order")
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
    for r, p in agreeing.items():  # a correlation alone stays a guess: verify checks it
        state.matched[p] = (r, "order+value" if state.agrees(r, p) else "order")
    # guesses whose values disagree are left to _pair_nearby (closest values) and the
    # second order pass: an order guess must not win over a candidate that fits better


def _monotonic(anchors: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest chain of anchors increasing in both orders (one pair that crosses the
    others — the same name on two different tensors — must not hide the rest)."""
    tails: list[int] = []  # port position ending the best chain of each length
    tail_at: list[int] = []
    back = [-1] * len(anchors)
    for k, (_, j) in enumerate(anchors):
        n = bisect.bisect_left(tails, j)
        if n == len(tails):
            tails.append(j)
            tail_at.append(k)
        else:
            tails[n], tail_at[n] = j, k
        back[k] = tail_at[n - 1] if n else -1
    chain, k = [], tail_at[-1] if tail_at else -1
    while k >= 0:
        chain.append(anchors[k])
        k = back[k]
    return chain[::-1]


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
            d = state.difference(info.name, cand.name)
            if d <= AGREE:
                rank = (0, d)
            elif agreeing_only or d == float("inf"):
                continue
            else:  # no values agree: closest values, a correlation breaking ties
                rank = (2, d)
                options.append((rank, state.ref_pos[info.name], j, info.name, cand.name, d))
    taken: set[str] = set()
    for rank, _, _, ref, port, d in sorted(options):  # best values first, then earliest
        if ref in taken or port not in free_port:
            continue
        state.matched[port] = (ref, "order+value" if rank[0] == 0 else "order")
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
