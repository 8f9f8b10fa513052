"""The port's tokens against the reference's (e.g. PyTorch greedy generation or the
reference codec's own codes): lengths, the first mismatching (frame, codebook), agreement
per codebook, and the cause catalogue on the common part.

Both sides are ``[B, Q, T]`` with per-sequence content lengths (frames before EOS). Only
the common part is compared: the first ``min`` sequences, codebooks and frames.
:func:`~audioparity.explain.explain_pair` then names swapped codebooks (``permutation``,
with the order), per-codebook offsets (``offset``), a frame shift (``shift``) or reversed
codebooks on that part; a stream that simply continues differently gets no cause (its
cause is upstream: compare the logits of that step).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..explain import Finding, explain_pair

#: Causes that can explain two id streams of the same input; the float-only ones (scale,
#: mask, drift ...) would read a diverged continuation as a numeric pattern.
TOKEN_CAUSES = ("permutation", "offset", "shift", "reversed", "layout")


@dataclass
class RefComparison:
    """How the port's ids compare with the reference's.

    ``first_mismatch`` is ``{"sequence", "frame", "codebook", "ref", "port"}`` for the
    earliest differing frame over all sequences (None when the common part agrees);
    ``agreement[q]`` the share of equal ids of codebook ``q`` in the common part (empty
    when no frame is common).
    """

    ref_shape: list[int]
    port_shape: list[int]
    ref_lengths: list[int]
    port_lengths: list[int]
    compared: list[int]  # [B, Q, T] of the common part (T: the longest common sequence)
    first_mismatch: dict | None
    agreement: list[float]
    causes: list[Finding] = field(default_factory=list)

    @property
    def length_difference(self) -> list[int]:
        """Port minus reference content length, per compared sequence."""
        return [p - r for p, r in zip(self.port_lengths, self.ref_lengths, strict=False)]

    @property
    def matches(self) -> bool:
        return (self.first_mismatch is None and not any(self.length_difference)
                and self.ref_shape[:2] == self.port_shape[:2])

    def to_json(self) -> dict:
        return {"ref_shape": self.ref_shape, "port_shape": self.port_shape,
                "ref_lengths": self.ref_lengths, "port_lengths": self.port_lengths,
                "length_difference": self.length_difference, "compared": self.compared,
                "first_mismatch": self.first_mismatch,
                "agreement": [round(a, 4) for a in self.agreement], "matches": self.matches,
                "causes": [c.to_json() for c in self.causes]}


def compare_tokens(ref: np.ndarray, port: np.ndarray, ref_lengths: list[int],
                   port_lengths: list[int]) -> RefComparison:
    """Compare ``port`` with ``ref`` (both ``[B, Q, T]``) over their common content."""
    batch = min(ref.shape[0], port.shape[0])
    books = min(ref.shape[1], port.shape[1])
    limits = [min(r, p) for r, p in zip(ref_lengths[:batch], port_lengths[:batch], strict=True)]
    frames = max(limits)
    r, p = ref[:batch, :books, :frames], port[:batch, :books, :frames]
    valid = np.arange(frames)[None, :] < np.asarray(limits)[:, None]  # [B, T]
    same = r == p
    agreement = [float(same[:, q][valid].mean()) for q in range(books)] if valid.any() else []
    result = RefComparison(list(ref.shape), list(port.shape), list(ref_lengths[:batch]),
                           list(port_lengths[:batch]), [batch, books, frames],
                           _first_mismatch(r, p, same | ~valid[:, None, :]), agreement)
    rect = min(limits)  # the catalogue needs one rectangle: every sequence's common frames
    if result.first_mismatch is not None and rect:
        result.causes = [f for f in explain_pair(r[..., :rect], p[..., :rect],
                                                 kinds=TOKEN_CAUSES) if f.cause != "unknown"]
    return result


def _first_mismatch(r: np.ndarray, p: np.ndarray, equal: np.ndarray) -> dict | None:
    frame_differs = ~equal.all(axis=1)  # [B, T]
    if not frame_differs.any():
        return None
    first_frames = [int(np.argmax(row)) if row.any() else None for row in frame_differs]
    b = min((f, b) for b, f in enumerate(first_frames) if f is not None)[1]
    t = first_frames[b]
    q = int(np.argmax(~equal[b, :, t]))
    return {"sequence": b, "frame": t, "codebook": q, "ref": int(r[b, q, t]),
            "port": int(p[b, q, t])}
