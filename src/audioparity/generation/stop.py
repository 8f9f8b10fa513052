"""How one side's generation ended: EOS at step k, the length limit, EOS emitted but
ignored, or an early end without EOS (a crash, a loop cut short)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..tokens.eos import find_stops

_EOS = -1  # every EOS id is mapped to this before looking for the first one


@dataclass(frozen=True)
class Stop:
    """``kind``: ``eos`` (EOS at ``eos_step``, the last step), ``length`` (ran to the limit
    without EOS), ``eos_ignored`` (EOS at ``eos_step``, generation went on), ``ended``
    (stopped without EOS before the limit) or ``unknown`` (no EOS id known)."""

    kind: str
    steps: int
    eos_step: int | None
    limit: int | None

    @property
    def content_steps(self) -> int:
        """Steps up to and including EOS (all of them without EOS)."""
        return self.steps if self.eos_step is None else self.eos_step + 1

    def describe(self) -> str:
        if self.kind == "eos":
            return f"EOS at step {self.eos_step}"
        if self.kind == "eos_ignored":
            return f"EOS at step {self.eos_step} ignored, ran on to {self.steps} steps"
        if self.kind == "length":
            return f"length limit ({self.steps} steps, no EOS)"
        if self.kind == "ended":
            return f"ended after {self.steps} steps without EOS (limit {self.limit})"
        return f"{self.steps} steps (no EOS id known)"

    def to_json(self) -> dict:
        return {"kind": self.kind, "steps": self.steps, "eos_step": self.eos_step,
                "limit": self.limit, "describe": self.describe()}


def stops_of(tokens: np.ndarray, eos: list[int] | None, limit: int | None) -> list[Stop]:
    """The stop of every sequence of ``tokens`` ``[steps, B]``, in one pass over the batch.

    >>> stops_of(np.array([[5], [9], [2]]), eos=[2], limit=8)[0].describe()
    'EOS at step 2'
    """
    steps, batch = int(tokens.shape[0]), int(tokens.shape[1])
    if not eos:
        return [Stop("unknown", steps, None, limit)] * batch
    mapped = np.where(np.isin(tokens, eos), _EOS, tokens).T[:, None, :]  # [B, 1, steps]
    out = []
    for s in find_stops(mapped, _EOS):
        if s.eos_frame is None:
            kind = "length" if limit is None or steps >= limit else "ended"
            out.append(Stop(kind, steps, None, limit))
        else:
            out.append(Stop("eos" if s.after_eos == 0 else "eos_ignored", steps, s.eos_frame,
                            limit))
    return out
