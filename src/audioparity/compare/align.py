"""Pair the tensors of a reference trace with those of a port trace.

The pipeline is a list of matchers (:mod:`audioparity.compare.matchers`), each working on
what the previous left unpaired: map rules → exact names → structure (MLX ``Sequential``,
renumbered children) → wrapper-prefix suffix → execution order and shape, with every guess
checked by value fingerprints. Each pair records how it was made (``aligned_by``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..trace import TensorInfo
from .fingerprint import Fingerprints
from .mapping import MapRules
from .matchers import matchers
from .state import AlignState

#: ``aligned_by`` values, most certain first
METHODS = ("name", "map", "structure", "suffix", "order+value", "order")


@dataclass(frozen=True)
class Pair:
    ref: str
    port: str
    method: str  # one of METHODS


@dataclass
class Alignment:
    pairs: list[Pair]  # in reference execution order
    unmatched_ref: list[str]
    unmatched_port: list[str]
    skipped_segments: int = 0  # order-pass segments too large to align
    notes: list[str] = field(default_factory=list)


def align(ref: list[TensorInfo], port: list[TensorInfo], rules: MapRules | None = None,
          by_order: bool = True, *, fingerprints: Fingerprints | None = None,
          ref_modules: dict[str, str] | None = None,
          port_modules: dict[str, str] | None = None,
          strict_layout: bool = False) -> Alignment:
    """Align two traces' tensors; see the module docstring.

    ``fingerprints`` enables the value checks (without it, guesses are unchecked);
    ``ref_modules``/``port_modules`` (module path -> class name, the traces' ``modules``
    metadata) let names with mismatched module kinds stay apart; ``strict_layout`` turns the
    port conventions off (shapes must be equal).
    """
    state = AlignState(ref, port, rules or MapRules(), fingerprints, dict(ref_modules or {}),
                       dict(port_modules or {}), strict_layout, by_order)
    for _, run in matchers():
        run(state)
    by_ref = {r: (p, m) for p, (r, m) in state.matched.items()}
    pairs = [Pair(info.name, *by_ref[info.name]) for info in ref if info.name in by_ref]
    return Alignment(
        pairs=pairs,
        unmatched_ref=[i.name for i in ref if i.name not in by_ref],
        unmatched_port=[i.name for i in port if i.name not in state.matched],
        skipped_segments=state.skipped_segments,
        notes=state.notes,
    )
