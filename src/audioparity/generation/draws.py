"""A loop that emits no tokens (a diffusion sampler) but recorded its random draws: did the
port take the same ones? If not, everything computed from the first differing draw on
differs by chance, and the comparison must say so instead of calling it a divergence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..trace import Trace
from .names import is_generation_name, parse_step


def _draw_names(trace: Trace) -> list[str]:
    return [n for n in trace.names if parse_step(n)[1].startswith("draws.")]


@dataclass
class DrawsComparison:
    """``status``: ``parity`` (the port recorded the reference's draws, or none at all) or
    ``not_meaningful`` (it drew others: tensors from ``first_differing`` on are not
    compared). ``after`` holds the reference's names from that draw on."""

    status: str
    draws: int
    replayed: bool
    first_differing: str | None
    after: frozenset[str] = frozenset()
    notes: list[str] = field(default_factory=list)

    #: a loop without tokens has no stop of its own: the engine checks the port's reach
    checks_stop = False

    @property
    def diverges(self) -> bool:
        return False

    def locate(self, first_divergence: Any) -> None:
        """Nothing to add: the per-tensor panel names the first divergent tensor."""

    def keeps(self, name: str) -> bool:
        """Pair ``name`` per tensor: not a draw, and computed before any differing draw."""
        return not is_generation_name(name) and name not in self.after

    def headline(self) -> str:
        if self.status == "not_meaningful":
            return (f"draws differ from {self.first_differing} on: the port took its own random "
                    "numbers, what follows is not comparable (replay the draws)")
        how = "replayed" if self.replayed else "not recorded by the port"
        return f"{self.draws} reference draws, {how}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": "draws", "status": self.status, "headline": self.headline(),
                "draws": self.draws, "replayed": self.replayed,
                "first_differing": self.first_differing, "not_compared": len(self.after),
                "notes": self.notes}


def compare_draws(ref_t: Trace, port_t: Trace) -> DrawsComparison | None:
    """The draws check of two traces; None when the reference recorded no draws."""
    names = _draw_names(ref_t)
    if not names:
        return None
    shared = [n for n in names if n in port_t]
    if not shared:
        note = (f"the reference recorded {len(names)} random draws ({names[0]} …), the "
                "port's trace none: if the port drew its own, tensors from the first noisy one "
                "on differ by chance (audioparity.generation.Replay feeds it the reference's)")
        return DrawsComparison("parity", len(names), False, None, notes=[note])
    for name in shared:
        ref, port = np.asarray(ref_t.read(name)), np.asarray(port_t.read(name))
        if ref.shape != port.shape or not np.array_equal(ref, port):  # exact: copied draws
            after = frozenset(ref_t.names[ref_t.names.index(name):])
            note = (f"the port's {name} is not the reference's: it drew its own random "
                    f"numbers; the {len(after)} reference tensors from there on are not compared")
            return DrawsComparison("not_meaningful", len(names), False, name, after, [note])
    return DrawsComparison("parity", len(names), True, None)
