"""How the first divergence moved from one recorded run to the next.

Runs are compared with the previous run on the same reference (same fingerprint hash):
positions along another reference's execution order mean nothing. A run's *reach* is the
position of its first divergence among the aligned pairs, or all pairs when none diverges;
a larger reach is ``later`` (the port now matches further), a smaller one ``earlier``.

>>> from audioparity.history.fingerprint import Fingerprint
>>> ref, port = Fingerprint("r", 1, None, "h"), Fingerprint("p", 1, None, "x")
>>> def run(index): return Run("t", None, ref, port, "divergent", "n", index, None, None,
...                            None, 40, 1, 0, 0)
>>> [m.direction for m in moves([run(3), run(12), run(12), run(5)])]
['first', 'later', 'same', 'earlier']
"""

from __future__ import annotations

from dataclasses import dataclass

from .run import Run


@dataclass(frozen=True)
class Move:
    """One run's change against the previous run on the same reference.

    direction : ``first`` (no earlier run on this reference), ``later``, ``earlier`` or
        ``same``.
    by : pairs moved (positive later, negative earlier); None for ``first``.
    previous_id : the run compared with.
    """

    direction: str
    by: int | None
    previous_id: int | None

    @property
    def arrow(self) -> str:
        return {"first": "·", "later": "▶", "earlier": "◀", "same": "="}[self.direction]

    def to_json(self) -> dict:
        return {"direction": self.direction, "by": self.by, "previous_id": self.previous_id}


_STATUS_RANK = {"divergent": 0, "incomplete": 1, "parity": 2}


def _reference_key(run: Run) -> str:
    return run.ref.sha256_1mib or run.ref.path


def _progress(run: Run) -> tuple[int, int]:
    """Reach first; at equal reach parity is further than incomplete (the port's trace
    now reaches the reference's outputs)."""
    return run.reach, _STATUS_RANK.get(run.status, 0)


def moves(runs: list[Run]) -> list[Move]:
    """One :class:`Move` per run, in the order given (oldest first)."""
    last: dict[str, Run] = {}
    out = []
    for run in runs:
        before = last.get(_reference_key(run))
        if before is None:
            out.append(Move("first", None, None))
        else:
            now, then = _progress(run), _progress(before)
            direction = "later" if now > then else "earlier" if now < then else "same"
            out.append(Move(direction, run.reach - before.reach, before.id))
        last[_reference_key(run)] = run
    return out


def regressed(runs: list[Run]) -> bool:
    """Whether the latest run moved the first divergence earlier than the run before it."""
    return bool(runs) and moves(runs)[-1].direction == "earlier"
