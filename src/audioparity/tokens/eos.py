"""Where generation stopped: the first EOS of each sequence, ids after it, the stop reason.

A port that never emits EOS runs to ``max_new_tokens`` ("no EOS, wrong duration"); one that
emits it in the first frame produces nothing; one that keeps sampling after it pads with
garbage. For multi-codebook streams EOS is looked for in codebook 0, the stream the talker
LM itself predicts (the other codebooks come from a code predictor). Ids after the first EOS
that equal EOS or ``pad`` are padding (``generate`` pads finished rows), anything else is
counted as generated after EOS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SequenceStop:
    """How sequence ``index`` ended: ``eos_frame`` (None when no EOS), ``after_eos``
    (non-padding ids of codebook 0 after it), ``stop_reason`` ``"eos"`` or
    ``"length"``."""

    index: int
    eos_frame: int | None
    after_eos: int
    stop_reason: str

    def to_json(self) -> dict:
        return {"index": self.index, "eos_frame": self.eos_frame, "after_eos": self.after_eos,
                "stop_reason": self.stop_reason}


def find_stops(bqt: np.ndarray, eos: int, pad: int | None = None) -> list[SequenceStop]:
    """The stop of every sequence of ``bqt`` (``[B, Q, T]`` ids) for EOS id ``eos``.

    Examples
    --------
    >>> find_stops(np.array([[[4, 5, 2, 2]]]), eos=2)[0].eos_frame
    2
    """
    stops = []
    for b in range(bqt.shape[0]):
        hits = np.flatnonzero(bqt[b, 0] == eos)
        if hits.size == 0:
            stops.append(SequenceStop(b, None, 0, "length"))
            continue
        first = int(hits[0])
        tail = bqt[b, 0, first + 1:]
        padding = (tail == eos) | (tail == pad) if pad is not None else tail == eos
        stops.append(SequenceStop(b, first, int(np.sum(~padding)), "eos"))
    return stops


def content_lengths(stops: list[SequenceStop] | None, batch: int, frames: int) -> list[int]:
    """Frames of each sequence before its EOS (all ``frames`` without EOS or ``stops``)."""
    if stops is None:
        return [frames] * batch
    return [frames if s.eos_frame is None else s.eos_frame for s in stops]
