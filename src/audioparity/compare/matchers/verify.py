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

- or both are pass-through modules (``Identity``, ``Dropout``) whose shapes differ,
- or it is an order guess that no other repeat of the block (layer) confirms by values: in
  the layer with the bug nothing after it agrees, so the other layers decide.

Those tensors are reported as not aligned, never as a divergence. Map pairs are kept: a rule
the user wrote is meant.
"""

from __future__ import annotations

import re

from ..conventions.infer import is_parameter
from ..fingerprint import AGREE
from ..mapping import module_path
from ..state import AlignState, module_kind
from . import matcher
from .order import RELATED

_DIGITS = re.compile(r"\d+")


def _suspect(state: AlignState, port: str, ref: str, method: str) -> bool:
    if method == "map":
        return False
    r, p = state.ref_info[ref], state.port_info[port]
    if not state.compatible(r, p):
        return not is_parameter(ref)
    return method == "order" and state.difference(ref, port) > AGREE


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
    for k, (p, r) in enumerate(pairs):
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
    # (layers): where the same reference tensor is left unaligned or paired otherwise in
    # every other layer, the guess in the buggy one is not trusted
    confirmed = {_pattern(r, p) for k, (p, r) in enumerate(pairs)
                 if not suspects[k] and p not in drop}
    repeats: dict[str, int] = {}
    for info in state.ref:
        key = _DIGITS.sub("#", info.name)
        repeats[key] = repeats.get(key, 0) + 1
    for k, (p, r) in enumerate(pairs):
        if not suspects[k] or p in drop or state.matched[p][1] != "order":
            continue
        if repeats.get(_DIGITS.sub("#", r), 0) > 1 and _pattern(r, p) not in confirmed \
                and not _related(state, p, r):
            drop[p] = (f"'{r}' and port '{p}' were paired by order alone, a pairing no other "
                       "repeat of this block confirms by values: left unaligned")
    for p, note in drop.items():
        del state.matched[p]
        state.notes.append(note)


def _pattern(ref: str, port: str) -> tuple[str, str]:
    """A pair with its indices blanked: ``model.layers.#.mlp.act_fn`` / ``ffn_swiglu-#``."""
    return _DIGITS.sub("#", ref), _DIGITS.sub("#", port)
