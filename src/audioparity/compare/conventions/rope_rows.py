"""``rope_rows``: a llama.cpp run of the ``llama`` architecture holds Q and K with each
head's rows in llama.cpp's RoPE order.

Hugging Face Llama rotates the two *halves* of each head; llama.cpp's ``llama`` graph rotates
*adjacent pairs*. Its converter (``convert_hf_to_gguf.py``, ``LlamaModel.permute``) therefore
reorders the Q/K weight rows within each head — the first half's row ``i`` becomes row
``2i``, the second half's row ``2i+1`` — so llama.cpp's ``Qcur-i``/``Kcur-i`` (the
projection, its reshape into heads, the RoPE output) are the reference's tensors with the head
dimension permuted. Reading them back is ``[…, d/2, 2] → [… , 2, d/2]`` on the last axis,
after whatever reading the shapes already call for (no batch axis, tokens first).

Shapes alone never propose it (``q_proj`` and ``o_proj`` have the same shape): the trace
declares it — its root module is ``llama.cpp:<architecture>`` with an architecture whose
converter permutes (:data:`~audioparity.weights.rope_rows.PERMUTING_ARCHITECTURES`) — and the
values decide, as for the other conventions: the rows are read back when more Q/K pairs are
clearly closer to the reference so than as stored (closer, not equal: a bug upstream leaves
them different either way). A GGUF converted twice is close in neither way: its Q/K tensors
are compared as stored and the first of them diverges (``permutation`` names the row order
there); one converted without the permutation is the reference's as stored, and diverges
at the RoPE output (``rope_variant``: interleaved against half-split).

>>> from .base import identity
>>> with_rows(identity((8,)), 4).apply(list(range(8))).tolist()  # two heads of 4
[0, 2, 1, 3, 4, 6, 5, 7]
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING

from ..mapping import split_name
from .base import Shape, Transform
from .registry import register

if TYPE_CHECKING:
    from ...trace import TensorInfo
    from ..fingerprint import Fingerprints
    from .infer import Readings

LABEL = "rope_rows"
#: a Q/K node of a llama.cpp graph (``Qcur-0``, ``Kcur-3#2``: projection, heads, RoPE)
_QK_NODE = re.compile(r"^[QK]cur-\d+$")


@register(LABEL, "stores q/k rows in llama.cpp's RoPE order", composes_with_batch=False)
def detect(ref_shape: Shape, port_shape: Shape) -> list[Transform]:
    """Never from shapes (see the module docstring): :func:`read_rope_rows` applies it."""
    return []


def with_rows(base: Transform, head_dim: int) -> Transform | None:
    """``base`` after putting each ``head_dim`` block of the port's last axis back in the
    half-split order; None when ``base`` moves the last axis or it is no whole number of
    heads."""
    last = len(base.pre_shape) - 1
    if last < 0 or base.perm[-1] != last or head_dim < 4 or head_dim % 2 \
            or base.pre_shape[-1] % head_dim:
        return None
    width = base.pre_shape[-1]
    pre = (*base.pre_shape[:-1], width // head_dim, head_dim // 2, 2)
    perm = (*base.perm[:-1], last, last + 2, last + 1)
    return Transform((*base.labels, LABEL), base.port_shape, pre, perm, base.ref_shape)


def permuting_architecture(port_modules: dict[str, str]) -> str | None:
    """The GGUF architecture of a llama.cpp capture (its root module's class, as the built-in
    name map reads it) when its converter permutes Q/K rows; else None."""
    from ..matchers.builtin_llamacpp import architecture

    arch = architecture(port_modules)
    if arch is None:
        return None
    from ...weights.rope_rows import PERMUTING_ARCHITECTURES  # imported for llama.cpp only

    return arch if arch in PERMUTING_ARCHITECTURES else None


def is_qk_node(port_name: str) -> bool:
    """``Qcur-i``/``Kcur-i`` and their repeats (``#1`` heads, ``#2`` RoPE), any step."""
    _, path, suffix = split_name(port_name)
    return bool(_QK_NODE.match(path)) and (not suffix or suffix.startswith("#"))


def _closer(diff: float, other: float) -> bool:
    """A reading whose fingerprint difference ``diff`` makes the pair the same tensor (maybe
    with a bug: at most ``DISAGREE``) and clearly closer than the other reading's."""
    from ..fingerprint import AGREE, DISAGREE

    return diff <= AGREE < other or (diff <= DISAGREE and 2 * diff < other)


def _head_dims(width: int, known: set[int]) -> list[int]:
    """Head dimensions to try on a last axis of ``width``: those the reference's rotary
    tensors show (``[B, n_head, T, d]``), else every even divisor."""
    fits = sorted(d for d in known if width % d == 0)
    return fits or [d for d in range(4, width + 1, 2) if width % d == 0]


def read_rope_rows(readings: Readings, pairs: list[tuple[str, str]], ref: dict[str, TensorInfo],
                   port: dict[str, TensorInfo], fingerprints: Fingerprints | None,
                   port_modules: dict[str, str], strict: bool = False) -> None:
    """Read a permuting llama.cpp run's Q/K pairs in the reference's row order, in place of
    the readings :func:`~audioparity.compare.conventions.infer.infer` chose
    (``readings``: its :class:`~audioparity.compare.conventions.infer.Readings`).

    ``pairs`` are (reference name, port name). A pair votes for the row order when reading
    it so brings its values clearly closer to the reference than reading it as stored, and
    against it in the opposite case; the head dimension is the one with most votes, and the
    rows are read when more pairs vote for it than against. A pair clearly closer as stored
    keeps its reading, with a note, and so do the other repeats of its node (``Qcur-2``,
    ``Qcur-2#1``, ``Qcur-2#2``: the same weight rows). Nothing changes under ``strict`` or
    when no value decides.
    """
    arch = permuting_architecture(port_modules)
    if strict or fingerprints is None or arch is None:
        return
    bases = {(r, p): readings.by_ref.get(r) for r, p in pairs if is_qk_node(p)}
    bases = {k: t for k, t in bases.items() if t is not None}
    if not bases:
        return
    stored = {k: fingerprints.difference(*k, t) for k, t in bases.items()}
    known = {ref[r].shape[-1] for r, _ in bases if len(ref[r].shape) == 4}
    rows: dict[tuple[str, str], dict[int, tuple[Transform, float]]] = {}
    support: Counter = Counter()
    against: Counter = Counter()
    for key, base in bases.items():
        rows[key] = {d: (t, fingerprints.difference(*key, t))
                     for d in _head_dims(base.pre_shape[-1] if base.pre_shape else 0, known)
                     if (t := with_rows(base, d)) is not None}
        for d, (_, diff) in rows[key].items():
            support[d] += _closer(diff, stored[key])
            against[d] += _closer(stored[key], diff)
    head_dim = max(support, key=lambda d: (support[d], -against[d]), default=None)
    if head_dim is None or support[head_dim] <= against[head_dim]:
        as_stored = sum(all(_closer(stored[k], diff) for _, diff in rows[k].values())
                        for k in bases)
        readings.notes.append(
            f"llama.cpp {arch}: its Q/K tensors are not in llama.cpp's RoPE row order "
            "(LlamaModel.permute once, which its RoPE needs) by their values "
            f"({len(bases)} tensors: {as_stored} match the reference as stored, "
            f"{len(bases) - as_stored} neither way): compared as stored; `audioparity "
            "weights audit` of the GGUF against the reference checkpoint names the order of "
            "its Q/K rows")
        return
    readings.adopted = sorted({*readings.adopted, LABEL})
    # one node's repeats (projection, heads, RoPE output) hold the same weight rows: a
    # projection matching as stored keeps its whole chain as stored
    stored_chains = {_chain(p) for (r, p), fit in rows.items()
                     if head_dim in fit and _closer(stored[(r, p)], fit[head_dim][1])}
    kept: dict[str, list[str]] = {}  # port node -> its reference names kept as stored
    for (r, p), base in bases.items():
        if head_dim not in rows[(r, p)]:
            continue
        t = rows[(r, p)][head_dim][0]
        if _chain(p) in stored_chains:
            readings.pair_notes[r] = (f"port node '{_chain(p)}' holds the reference's row "
                                      f"order, unlike the port's other Q/K tensors ({LABEL}): "
                                      "compared as stored")
            readings.breaks.setdefault(t.name, []).append(r)
            kept.setdefault(_chain(p), []).append(r)
            continue
        if not base.is_identity:
            readings.applied[base.name] -= 1
            if readings.applied[base.name] <= 0:
                del readings.applied[base.name]
        readings.applied[t.name] += 1
        readings.by_ref[r] = t
    for node, names in kept.items():
        readings.notes.append(f"'{names[0]}' (port '{node}') is stored in the reference's row "
                              f"order, unlike the port's other Q/K tensors ({LABEL}): compared "
                              f"as stored, with the {len(names) - 1} other tensors of that node")


def _chain(port_name: str) -> str:
    """``@1/Qcur-2`` for ``@1/Qcur-2#2``: the node whose repeats share their rows."""
    step, path, _ = split_name(port_name)
    return step + path
