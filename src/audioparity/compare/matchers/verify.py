"""Last check: pairs that are not the same tensor are unpaired, with a note.

A suspect pair is an order guess whose values disagree, or a pair of activations whose
shapes no port convention reconciles (an exact name on two different tensors: transformers'
``encoder`` is the whole encoder path, mlx-audio's the SEANet part). A suspect is dropped
when

- the next pair that is not itself suspect agrees: a real bug propagates, a wrong pairing
  (an ``Identity`` against a codebook lookup) does not — unless the two are strongly
  correlated (a scale or sign bug on the same tensor), or
- its port tensor holds the values of a neighbouring pair's reference tensor while being
  unrelated to its own: a duplicate, such as a parent module that returns its last child's
  output.

- or its port tensor is a parent module's output equal to a child's already paired (a
  container returning its last child),
- or both are pass-through modules (``Identity``, ``Dropout``) whose shapes differ,
- or it is an order guess that the other repeats of the block (layers) whose neighbours
  agree do not make: in the layer with the bug nothing after it agrees, so the checked
  layers decide.

Those tensors are reported as not aligned, never as a divergence. Map pairs are kept: a rule
the user wrote is meant.
"""

from __future__ import annotations

import bisect
import re

from ..conventions.infer import is_parameter
from ..fingerprint import AGREE
from ..mapping import module_path
from ..state import AlignState, module_kind
from . import matcher
from .order import RELATED

_DIGITS = re.compile(r"\d+")
#: a guess whose values are this close to its reference tensor is never a parent's copy
PARENT_COPY_FLOOR = 1e-3
#: a parent returns one of its last children: only those are compared
PARENT_COPY_CHILDREN = 4


def _suspect(state: AlignState, port: str, ref: str, method: str) -> bool:
    if method == "map":
        return False
    r, p = state.ref_info[ref], state.port_info[port]
    if not state.compatible(r, p):
        return not is_parameter(ref)
    return method == "order" and state.difference(ref, port) > AGREE


def _parent_copy(state: AlignState, port: str, ref: str,
                 below: dict[str, list[tuple[str, str]]]) -> str | None:
    """A trusted pair's port tensor below ``port`` in the module tree whose reference tensor
    holds ``port``'s values clearly better than ``ref`` does: ``port`` is a parent returning
    its child's output, not ``ref`` (an ELU's output sits close to its input, so "close" is
    not enough)."""
    children = below.get(module_path(port), [])
    if not children:
        return None
    own = state.difference(ref, port)
    if own <= PARENT_COPY_FLOOR:
        return None
    for child, child_ref in children[-PARENT_COPY_CHILDREN:]:
        d = state.difference(child_ref, port)
        if d <= AGREE and d < own / 2:
            return child
    return None


def _pass_through(state: AlignState, port: str, ref: str) -> bool:
    """Both are pass-through modules (``Identity``, ``Dropout`` at inference) whose shapes no
    convention reconciles: where such a module sits is an implementation choice, so they
    wrap different tensors (Bark's ``attn_dropout``: probabilities in transformers, the
    per-head output in mlx-audio)."""
    if state.compatible(state.ref_info[ref], state.port_info[port]):
        return False
    kinds = {module_kind(state.ref_modules.get(module_path(ref)) or module_path(ref)),
             module_kind(state.port_modules.get(module_path(port)) or module_path(port))}
    return kinds == {"identity"}


def _related(state: AlignState, port: str, ref: str) -> bool:
    rel = state.relatedness(ref, port)
    return rel is not None and rel >= RELATED


def _duplicate(state: AlignState, port: str, ref: str, neighbours: list[tuple[str, str]]
               ) -> str | None:
    """The reference tensor of a neighbouring pair whose values this port tensor holds, when
    it is unrelated to its own reference tensor."""
    for _, r2 in neighbours:
        if state.difference(r2, port) <= AGREE and not _related(state, port, ref):
            return r2
    return None


@matcher(60, "verify")
def match(state: AlignState) -> None:
    if state.fingerprints is None:
        return
    ordered = sorted((state.ref_pos[r], p, r, m) for p, (r, m) in state.matched.items())
    pairs = [(p, r) for _, p, r, _ in ordered]
    suspects = [_suspect(state, p, r, m) for _, p, r, m in ordered]
    drop: dict[str, str] = {}
    run: list[int] = []
    below: dict[str, list[tuple[str, str]]] = {}  # port module path -> trusted pairs under it
    for k, (p, r) in enumerate(pairs):
        if not suspects[k]:
            parts = module_path(p).split(".")
            for cut in range(1, len(parts)):
                below.setdefault(".".join(parts[:cut]), []).append((p, r))
    for k, (p, r) in enumerate(pairs):
        guessed = state.matched[p][1] in ("order", "order+value")
        if guessed and (child := _parent_copy(state, p, r, below)) is not None:
            drop[p] = (f"'{r}' and port '{p}': the port tensor is a parent module returning "
                       f"its child '{child}' (already paired): not the same tensor, left "
                       "unaligned")
            continue
        if suspects[k] and _pass_through(state, p, r):
            drop[p] = (f"'{r}' and port '{p}' are pass-through modules (Identity/Dropout) of "
                       "different shapes: they wrap different tensors, left unaligned")
            continue
        if suspects[k]:
            neighbours = [pairs[i] for i in (k - 1, k + 1)
                          if 0 <= i < len(pairs) and not suspects[i]]
            dup = _duplicate(state, p, r, neighbours)
            if dup is not None:
                drop[p] = (f"'{r}' and port '{p}': the port tensor holds the values of "
                           f"'{dup}' (a duplicate): not the same tensor, left unaligned")
                continue
            run.append(k)
            continue
        if run and state.difference(r, p) <= AGREE:
            for i in run:
                p_bad, r_bad = pairs[i]
                if _related(state, p_bad, r_bad):
                    continue
                drop[p_bad] = (f"'{r_bad}' and port '{p_bad}' were paired by "
                               f"{state.matched[p_bad][1]} but their values (or shapes) differ "
                               "and the tensors after them agree: not the same tensor, left "
                               "unaligned")
        run = []
    # an unchecked guess must be how the port pairs in the other repeats of the block
    # (layers) that values can check (their neighbours agree): where those leave the same
    # reference tensor unaligned or pair it otherwise, the guess in the buggy one is not
    # trusted. Repeats downstream of a bug check nothing and decide nothing.
    paired_as = {r: _pattern(r, p) for k, (p, r) in enumerate(pairs)
                 if not suspects[k] and p not in drop}
    trusted = [not suspects[k] and p not in drop for k, (p, r) in enumerate(pairs)]
    ref_at = [state.ref_pos[r] for _, r in pairs]
    by_pattern: dict[str, list[str]] = {}
    for info in state.ref:
        by_pattern.setdefault(_DIGITS.sub("#", info.name), []).append(info.name)
    checkable: dict[str, bool] = {}
    for k, (p, r) in enumerate(pairs):
        if not suspects[k] or p in drop or state.matched[p][1] != "order" or \
                _related(state, p, r):
            continue
        others = [o for o in by_pattern.get(_DIGITS.sub("#", r), []) if o != r]
        for o in others:
            if o not in checkable:
                checkable[o] = _checkable(state.ref_pos[o], ref_at, trusted)
        checked = [o for o in others if checkable[o]]
        if checked and all(paired_as.get(o) != _pattern(r, p) for o in checked):
            drop[p] = (f"'{r}' and port '{p}' were paired by order alone, a pairing the other "
                       "repeats of this block, checked by values, do not make: left unaligned")
    for p, note in drop.items():
        del state.matched[p]
        state.notes.append(note)


def _checkable(pos: int, ref_at: list[int], trusted: list[bool]) -> bool:
    """The pairs just before and just after reference position ``pos`` are trusted."""
    k = bisect.bisect_left(ref_at, pos)
    before = trusted[k - 1] if k > 0 else False
    after_k = k + 1 if k < len(ref_at) and ref_at[k] == pos else k
    after = trusted[after_k] if after_k < len(ref_at) else False
    return before and after


def _pattern(ref: str, port: str) -> tuple[str, str]:
    """A pair with its indices blanked: ``model.layers.#.mlp.act_fn`` / ``ffn_swiglu-#``."""
    return _DIGITS.sub("#", ref), _DIGITS.sub("#", port)
