"""Which conventions a port uses, decided from its own tensors' values, and the reading of
each pair.

A convention that moves elements (channels-last, tokens-first) is the port's when it explains
at least :data:`MIN_SUPPORT` pairs — by making their values agree (shapes that differ, or
square pairs the values decide), or as the only reading their differing shapes allow (their
values disagree under every reading: a bug upstream) — and more than contradict it. A pure
reshape (a missing batch axis, heads split) moves no element and applies wherever the shapes
call for it. Then every pair is read through it where the shapes call for it,
except a pair whose values contradict it (another reading agrees, this one does not): that
pair is compared as stored, with a note. A reading that fits only a few tensors is not
applied silently either: those pairs stay shape mismatches, with a note naming the fit.
A tensor stored as the reference stores it where the port's majority convention would have
moved it — its reference shape is one the port stores moved elsewhere, and its values agree
as stored — is reported too (on the pair, in the notes and the summary): mlx-audio's DAC
encoder moves its output back to channels-first while 83 other tensors are channels-last.
Parameters (names ending ``.weight``/``.bias``) keep their stored layout: a weight in another
layout is a bug to report (``layout``), and ``weights audit`` owns weight files.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from ...trace import TensorInfo
from ..fingerprint import AGREE, DISAGREE, Fingerprints
from .base import Transform, identity
from .registry import candidates, describe

#: pairs a convention must explain before it is taken as the port's
MIN_SUPPORT = 2
#: conventions that move no element (row-major reshapes): the data is the same bytes, so
#: they apply wherever the shapes call for them, without a majority
RESHAPES = frozenset({"batch_axis", "heads"})
_PARAMETER_LEAVES = ("weight", "bias", "weight_g", "weight_v", "scale", "running_mean",
                     "running_var")
#: an element-moving convention's layout, and a tensor's stored as the reference stores it
_WORDS = {"channels_last": ("channels-last", "channels-first"),
          "tokens_first": ("tokens-first", "heads-first")}
#: tensors named in a note before "…"
_NAMED = 6


@dataclass
class Readings:
    """Per reference name: the transform to read its port tensor with (identity when stored
    alike; None when the pair cannot be read as the reference's shape)."""

    by_ref: dict[str, Transform | None] = field(default_factory=dict)
    adopted: list[str] = field(default_factory=list)  # convention labels the port uses
    applied: Counter = field(default_factory=Counter)  # transform name -> pairs read so
    notes: list[str] = field(default_factory=list)
    pair_notes: dict[str, str] = field(default_factory=dict)  # ref name -> its pair's note
    #: transform name -> reference names stored as the reference stores them although the
    #: port reads most tensors of their shape through that transform
    breaks: dict[str, list[str]] = field(default_factory=dict)

    def summary(self) -> list[str]:
        """``["port stores activations channels-last: 87 tensors", ...]``, each with the
        tensors that break it (``— except 1 stored channels-first: 'encoder'``)."""
        lines = []
        for name, n in self.applied.most_common():
            broken = self.breaks.get(name, [])
            tail = (f" — except {len(broken)} stored {_words(name)[1]}: "
                    f"{_names(broken, 2)} (see notes)") if broken else ""
            lines.append(describe(name, n) + tail)
        return lines


def is_parameter(name: str) -> bool:
    leaf = name.rsplit(".", 1)[-1].split(":")[0].split("#")[0]
    return "." in name and leaf in _PARAMETER_LEAVES


def infer(pairs: list[tuple[str, str]], ref: dict[str, TensorInfo], port: dict[str, TensorInfo],
          fingerprints: Fingerprints | None, strict: bool = False) -> Readings:
    """Readings for ``pairs`` (reference name, port name); see the module docstring."""
    out = Readings()
    options: dict[str, list[tuple[Transform, float]]] = {}
    support: Counter = Counter()  # pairs a reading explains (by values, or alone by shape)
    against: Counter = Counter()
    for r, p in pairs:
        ri, pi = ref[r], port[p]
        if strict or is_parameter(r) or fingerprints is None:
            continue
        cands = candidates(ri.shape, pi.shape)
        if not cands:
            continue
        scored = [(t, fingerprints.difference(r, p, t)) for t in cands]
        if ri.shape == pi.shape:
            scored.insert(0, (identity(pi.shape), fingerprints.difference(r, p,
                                                                         identity(pi.shape))))
        options[r] = scored
        best, best_d = min(scored, key=lambda s: s[1])
        if best_d <= AGREE and not best.is_identity:
            support.update(best.labels)
        elif best_d > AGREE and ri.shape != pi.shape and len(cands) == 1:
            support.update(cands[0].labels)  # only this reading fits the shapes (values
            # differ under every reading: a bug downstream of it)
        for t, d in scored:
            if not t.is_identity and d > DISAGREE and best_d <= AGREE and t is not best:
                against.update(set(t.labels) - set(best.labels))
    out.adopted = sorted({lab for lab, n in support.items()
                          if n >= MIN_SUPPORT and n > against[lab]} | RESHAPES)
    for r, p in pairs:
        out.by_ref[r] = _reading(r, p, ref[r], port[p], options.get(r, []), out)
    if fingerprints is not None and not strict:
        _majority_breaks(pairs, ref, port, fingerprints, out)
    return out


def _words(transform: str) -> tuple[str, str]:
    """(the convention's layout, the layout of a tensor stored as the reference stores it)."""
    moving = [lab for lab in transform.split("+") if lab not in RESHAPES]
    return _WORDS.get("+".join(moving), (transform, "as the reference stores it"))


def _pair_words(r: str, p: str) -> str:
    """``'conv2'``, or ``'conv2' (port 'block.4')`` when the port names it otherwise."""
    return f"'{r}'" if r == p else f"'{r}' (port '{p}')"


def _names(names: list[str], limit: int = _NAMED) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:limit])
    return shown + (f", … ({len(names) - limit} more)" if len(names) > limit else "")


def _majority_breaks(pairs: list[tuple[str, str]], ref: dict[str, TensorInfo],
                     port: dict[str, TensorInfo], fingerprints: Fingerprints,
                     out: Readings) -> None:
    """Note the pairs read as stored whose reference shape the port otherwise stores through
    an element-moving convention, when their values agree as stored and under no moved
    reading, and the convention holds for most tensors of those shapes."""
    moved: dict[tuple[int, ...], tuple[Transform, str]] = {}  # ref shape -> (reading, pair)
    for r, p in pairs:
        t = out.by_ref.get(r)
        if t is not None and not t.is_identity and set(t.labels) - RESHAPES:
            moved.setdefault(tuple(ref[r].shape), (t, _pair_words(r, p)))
    found: dict[str, list[str]] = defaultdict(list)
    example: dict[str, tuple[Transform, str]] = {}  # the nearest moved pair before each
    latest = dict(moved)
    for r, p in pairs:
        t, ri, pi = out.by_ref.get(r), ref[r], port[p]
        shape = tuple(ri.shape)
        if t is not None and not t.is_identity and set(t.labels) - RESHAPES:
            latest[shape] = (t, _pair_words(r, p))
        if (t is None or not t.is_identity or shape != tuple(pi.shape) or shape not in moved
                or r in out.pair_notes or is_parameter(r)):
            continue
        if fingerprints.difference(r, p, t) > AGREE or any(
                fingerprints.difference(r, p, c) <= AGREE for c in candidates(shape, shape)):
            continue  # values must decide: they agree as stored, and only as stored
        found[moved[shape][0].name].append(r)
        example[r] = latest[shape]
    for name, names in found.items():
        if out.applied[name] <= len(names):
            continue  # not the port's majority for these shapes
        conv, stored = _words(name)
        n = out.applied[name]
        for r in names:
            seen, seen_pair = example[r]
            out.pair_notes[r] = (f"stored {stored} as the reference stores it, while the port "
                                 f"stores {n} tensors {conv} (e.g. {seen_pair} "
                                 f"{list(seen.ref_shape)} as {list(seen.port_shape)}): "
                                 "compared as stored")
        first = names[0]
        more = f"; so are {_names(names[1:])}" if names[1:] else ""
        out.notes.append(f"'{first}' {list(ref[first].shape)}: {out.pair_notes[first]}{more} "
                         "— a port module that transposes its own input or output, or a layout slip "
                         "there")
        out.breaks[name] = names


def _reading(r: str, p: str, ri: TensorInfo, pi: TensorInfo,
             scored: list[tuple[Transform, float]], out: Readings) -> Transform | None:
    same = ri.shape == pi.shape
    plain = identity(pi.shape) if same else None
    if not scored:
        return plain
    adopted = [(t, d) for t, d in scored if not t.is_identity and set(t.labels) <= set(out.adopted)]
    others = [(t, d) for t, d in scored if not t.is_identity and (t, d) not in adopted]
    ident_d = next((d for t, d in scored if t.is_identity), float("inf"))
    if adopted:
        t, d = min(adopted, key=lambda s: s[1])
        rival = min([*others, *([(plain, ident_d)] if same else [])], key=lambda s: s[1],
                    default=(None, float("inf")))
        if d > DISAGREE and rival[1] <= AGREE:
            what = "as stored" if rival[0] is plain else f"read {rival[0].name}"
            out.notes.append(f"'{r}': the port's {t.name} reading contradicts its values "
                             f"(they agree {what}): compared {'as stored' if same else 'unconverted'}")
            return plain
        if same and ident_d <= AGREE and not d <= AGREE:
            out.notes.append(f"'{r}' is stored as the reference stores it, unlike the port's "
                             f"other tensors ({t.name}): compared as stored")
            out.pair_notes[r] = (f"stored {_words(t.name)[1]} as the reference stores it, "
                                 f"unlike the port's other tensors ({t.name}): compared as "
                                 "stored")
            out.breaks.setdefault(t.name, []).append(r)
            return plain
        if same and ident_d <= AGREE:
            return plain  # both readings agree (a symmetric tensor): nothing to convert
        out.applied[t.name] += 1
        return t
    fits = [(t, d) for t, d in others if d <= AGREE]
    if fits and not same:
        t = min(fits, key=lambda s: s[1])[0]
        out.notes.append(f"'{r}' (port '{p}' {list(pi.shape)}) fits {t.name} by its values, but "
                         "the port's other tensors do not use it: not converted")
    return plain
