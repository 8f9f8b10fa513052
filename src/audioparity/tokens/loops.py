"""Stuck generation: a token stream that repeats one token, or a short cycle, for a long
stretch. A talker that stops attending to its conditioning loops like this (seed 003:
"a constant stream", "5-8 unique tokens"); so does a text LM whose cache or mask is broken.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_PERIOD = 16  # longer cycles are rare in stuck generation and common in real content
MIN_REPEATS = 3  # a cycle must come round at least this often to count


@dataclass(frozen=True)
class Repeat:
    """``seq[start : start + length]`` repeats with ``period`` (1 = one constant token)."""

    period: int
    start: int
    length: int

    def to_json(self) -> dict:
        return {"period": self.period, "start": self.start, "length": self.length}


def longest_true_run(mask: np.ndarray) -> tuple[int, int]:
    """``(start, length)`` of the longest run of True in a 1-D bool array (``(0, 0)`` if none)."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if starts.size == 0:
        return 0, 0
    i = int(np.argmax(ends - starts))
    return int(starts[i]), int(ends[i] - starts[i])


def longest_constant_run(seq: np.ndarray) -> int:
    """Length of the longest stretch of one repeated token (1 for a stream with no repeat)."""
    if seq.size == 0:
        return 0
    return longest_true_run(seq[1:] == seq[:-1])[1] + 1


def longest_repeat(seq: np.ndarray, max_period: int = MAX_PERIOD,
                   min_repeats: int = MIN_REPEATS) -> Repeat | None:
    """The longest stretch of ``seq`` that is periodic with a period ≤ ``max_period`` and
    comes round at least ``min_repeats`` times; the smallest period wins a tie.

    Examples
    --------
    >>> longest_repeat(np.array([5, 9, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1]))
    Repeat(period=3, start=2, length=10)
    """
    best: Repeat | None = None
    for period in range(1, min(max_period, seq.size // min_repeats) + 1):
        start, run = longest_true_run(seq[period:] == seq[:-period])
        length = run + period
        if run and length >= min_repeats * period and (best is None or length > best.length):
            best = Repeat(period, start, length)
    return best
