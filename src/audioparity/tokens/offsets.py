"""Offsets without a reference: ids that would be in range after subtracting a constant
per codebook.

Seed 003: Code2Wav looks codes up in one flat table, ``flat_index = token + cb * 4096``;
the talker's output (or a port) that hands the flat ids to a codec expecting per-codebook
ids puts codebook ``c`` in ``[c·N, (c+1)·N)``. A talker whose codec ids follow its text
vocabulary shifts them all by one base. The fit is ``offset[c] = base + c · step`` with
``step`` N (flat vocabulary) or 0 (one base); with a reference, the ``offset`` signature of
:mod:`audioparity.explain` fits any per-codebook offset exactly.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OffsetFit:
    """``offsets[c] = base + c · step`` brings every codebook into ``[0, N)``.

    ``base_low..base_high`` is the range of bases consistent with the ids (``base`` is the
    one chosen: 0, else a multiple of N, else the highest), so ``exact`` is False when a
    stream does not pin the base down.
    """

    base: int
    step: int
    base_low: int
    base_high: int
    offsets: list[int]

    @property
    def flat(self) -> bool:
        """The flat-vocabulary bug: ``step`` equals the codebook size, base 0."""
        return self.step != 0 and self.base == 0

    @property
    def exact(self) -> bool:
        return self.base_low == self.base_high or self.base % max(self.step, 1) == 0

    def to_json(self) -> dict:
        return {"offsets": self.offsets, "base": self.base, "step": self.step,
                "base_range": [self.base_low, self.base_high], "flat": self.flat}


def fit_offsets(mins: list[int], maxs: list[int], codebook_size: int) -> OffsetFit | None:
    """The per-codebook offset that explains out-of-range ids, or None.

    Only tried when at least one codebook lies wholly outside ``[0, codebook_size)`` (a few
    stray ids are a range problem, not an offset); the flat-vocabulary step is tried first.

    Examples
    --------
    >>> fit_offsets([3, 4100, 8200], [4000, 8100, 12000], 4096).offsets
    [0, 4096, 8192]
    """
    n = codebook_size
    if not any(lo >= n or hi < 0 for lo, hi in zip(mins, maxs, strict=True)):
        return None
    for step in ((n, 0) if len(mins) > 1 else (0,)):
        low = max(hi - c * step - n + 1 for c, hi in enumerate(maxs))
        high = min(lo - c * step for c, lo in enumerate(mins))
        if low > high:
            continue
        base = _round_base(low, high, n)
        if base == 0 and step == 0:
            continue
        return OffsetFit(base, step, low, high, [base + c * step for c in range(len(mins))])
    return None


def _round_base(low: int, high: int, n: int) -> int:
    if low <= 0 <= high:
        return 0
    multiple = (high // n) * n
    return multiple if multiple >= low else high
