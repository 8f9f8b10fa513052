"""Incomplete is not parity: does the port's trace reach the reference's final outputs?

A port that crashed, stopped early or was cut short records fewer tensors; every pair it
has may agree, yet it never produced an output. Two signs, either enough:

- the port trace's ``audioparity.meta`` says ``"incomplete": true`` (the captures write it
  when the forward raised, with ``"error": "<Type>: <message>"``);
- the reference's final outputs — its last recorded module output (all of its ``:outN``)
  — have no counterpart in the port. Recorded *inputs* (``NAME:inN``) are not outputs: a
  port that records no inputs is not incomplete for that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .align import Alignment
from .mapping import split_name
from .state import is_input


@dataclass
class Incomplete:
    """Why a comparison cannot be called parity, and where the port's trace stops."""

    reason: str
    last_aligned: str | None
    following: int  # reference tensors after the last aligned one
    error: str | None = None  # the port's recorded exception, when it raised

    def line(self) -> str:
        where = (f"last aligned: {self.last_aligned}, {self.following} reference tensors "
                 "follow it" if self.last_aligned else "nothing aligned")
        return f"{self.reason} ({where})"

    def to_json(self) -> dict[str, Any]:
        return {"reason": self.reason, "last_aligned": self.last_aligned,
                "following": self.following, "error": self.error}


def final_outputs(ref_names: list[str]) -> list[str]:
    """The reference's last recorded module output and its siblings (``:out1`` …)."""
    outputs = [n for n in ref_names if not is_input(n)]
    if not outputs:
        return []
    step, path, _ = split_name(outputs[-1])
    return [n for n in outputs if split_name(n)[:2] == (step, path)]


def check(ref_names: list[str], alignment: Alignment, port_meta: dict,
          reached: Callable[[str], bool] | None = None) -> Incomplete | None:
    """An :class:`Incomplete` when the port's trace ends before the reference's, else None.

    ``reached(final_name)`` may say a final output is present under another pairing (the
    reference records the same logits as ``lm_head`` and as the root ``output``; a port
    records them once): the captures' duplicates must not read as a missing output.
    """
    paired = {p.ref for p in alignment.pairs}
    last = alignment.pairs[-1].ref if alignment.pairs else None
    following = len(ref_names) - 1 - ref_names.index(last) if last else len(ref_names)
    meta = port_meta if isinstance(port_meta, dict) else {}
    if meta.get("incomplete"):
        error = meta.get("error")
        reason = "port trace is marked incomplete" + (f": the port raised {error}"
                                                      if error else "")
        return Incomplete(reason, last, following, str(error) if error else None)
    finals = final_outputs(ref_names)
    if finals and not any(n in paired for n in finals) and not (
            reached is not None and any(reached(n) for n in finals)):
        names = ", ".join(finals[:3]) + (" …" if len(finals) > 3 else "")
        return Incomplete(f"the reference's final output ({names}) has no counterpart in the "
                          "port trace: the port stopped early, crashed or was cut short",
                          last, following)
    return None
