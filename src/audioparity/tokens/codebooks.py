"""Per-codebook statistics of a token stream and the degeneracy flags they raise.

Seed 003's first check, for every codebook: ``0 <= token < codebook_size``, "hundreds of
unique tokens, not 5-8", "the distribution is not a constant". Thresholds were set on real
codes (a random tiny ``DacModel`` encoding espeak-ng speech: 70-190 unique ids of 256 in
512 frames, normalised entropy 0.70-0.90, the longest constant run the 3.5 % trailing
silence) so that speech passes and a collapsed, constant or looping stream does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .loops import Repeat, longest_constant_run, longest_repeat

LOW_DIVERSITY_UNIQUE = 8  # seed 003: "5-8 unique tokens instead of hundreds"
LOW_DIVERSITY_SHARE = 0.03  # ... or fewer than 3 % of the ids the stream could have used
DOMINANT_SHARE = 0.5  # one id is half of the stream
STUCK_SHARE = 0.4  # one repeated token or short cycle covers 40 % of a sequence
MIN_FRAMES = 16  # shorter streams say too little to call degenerate


@dataclass
class CodebookStats:
    """What one codebook's ids look like over every sequence (before EOS).

    ``entropy`` is the Shannon entropy of the id histogram divided by its maximum,
    ``log(min(count, codebook_size))`` (1 = every id equally often). ``repeat`` is the
    longest stuck stretch (:func:`~audioparity.tokens.loops.longest_repeat`) of the
    sequence ``repeat_sequence`` where it covers the largest share ``repeat_share``.
    """

    index: int
    count: int
    min: int | None
    max: int | None
    negative: int
    over: int
    unique: int
    entropy: float
    top_token: int | None
    top_share: float
    longest_run: int
    repeat: Repeat | None = None
    repeat_sequence: int | None = None
    repeat_share: float = 0.0
    flags: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"index": self.index, "count": self.count, "min": self.min, "max": self.max,
                "negative": self.negative, "over": self.over, "unique": self.unique,
                "entropy": round(self.entropy, 4), "top_token": self.top_token,
                "top_share": round(self.top_share, 4), "longest_run": self.longest_run,
                "repeat": None if self.repeat is None else {
                    **self.repeat.to_json(), "sequence": self.repeat_sequence,
                    "share": round(self.repeat_share, 4)},
                "flags": self.flags}


def codebook_stats(index: int, sequences: list[np.ndarray], codebook_size: int
                   ) -> CodebookStats:
    """Statistics and flags of codebook ``index`` from its ids in each sequence (1-D int).

    Flags: ``out_of_range`` (an id < 0 or ≥ ``codebook_size``), ``constant`` (one id),
    ``low_diversity`` (≤ 8 ids, or < 3 % of ``min(count, codebook_size)``), ``dominant``
    (one id is ≥ 50 % of the stream), ``stuck`` (a repeated id or cycle of period ≤ 16
    covers ≥ 40 % of a sequence).
    """
    ids = np.concatenate(sequences) if sequences else np.zeros(0, np.int64)
    count = int(ids.size)
    if count == 0:
        return CodebookStats(index, 0, None, None, 0, 0, 0, 0.0, None, 0.0, 0)
    values, counts = np.unique(ids, return_counts=True)
    top = int(np.argmax(counts))
    possible = min(count, codebook_size)
    p = counts / count
    entropy = float(-(p * np.log(p)).sum() / np.log(possible)) if possible > 1 else 0.0
    stats = CodebookStats(
        index, count, int(values[0]), int(values[-1]), int(np.sum(ids < 0)),
        int(np.sum(ids >= codebook_size)), int(values.size), min(entropy, 1.0),
        int(values[top]), float(counts[top] / count),
        max(longest_constant_run(s) for s in sequences))
    for b, seq in enumerate(sequences):
        repeat = longest_repeat(seq)
        if repeat is not None and repeat.length / seq.size > stats.repeat_share:
            stats.repeat, stats.repeat_sequence = repeat, b
            stats.repeat_share = repeat.length / seq.size
    stats.flags = _flags(stats, possible)
    return stats


def _flags(s: CodebookStats, possible: int) -> list[str]:
    flags = []
    if s.negative or s.over:
        flags.append("out_of_range")
    if s.unique == 1 and s.count >= 2:
        flags.append("constant")
        return flags
    if possible >= 2 * MIN_FRAMES and s.unique <= max(LOW_DIVERSITY_UNIQUE,
                                                       LOW_DIVERSITY_SHARE * possible):
        flags.append("low_diversity")
    if s.count >= MIN_FRAMES and s.top_share >= DOMINANT_SHARE:
        flags.append("dominant")
    if (s.repeat is not None and s.repeat.length >= MIN_FRAMES
            and s.repeat_share >= STUCK_SHARE):
        flags.append("stuck")
    return flags
