"""Per-step agreement of two generations' next-token distributions.

Each step's logits go through :func:`audioparity.tokens.logits.compare_logits` (top-1,
``KL(ref || port)`` in nats, max |Δ|, non-finite count, the reference's top-1 margin where
the argmax differs); this adds the top-k overlap and the tokens each side emitted. Where a
side recorded only its top-k, top-1 and the overlap come from those and KL is None.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..tokens.logits import compare_logits
from .record import GenerationRecord

TOP_K = 5  # the overlap's k: how many of the reference's likeliest ids the port shares


@dataclass
class StepResult:
    """One step. Tokens are per sequence; ``top1`` is True when every sequence's argmax
    agrees; ``kl`` the largest ``KL(ref || port)`` over the sequences (nats)."""

    step: int
    ref_tokens: list[int]
    port_tokens: list[int]
    top1: bool | None
    topk_overlap: float | None
    kl: float | None
    max_abs: float | None
    nonfinite: int
    ref_margin: float | None  # reference's top-1 minus top-2 logit where the argmax differs
    ref_argmax: list[int] | None = None
    port_argmax: list[int] | None = None

    @property
    def tokens_equal(self) -> bool:
        return self.ref_tokens == self.port_tokens

    def to_json(self) -> dict:
        one = len(self.ref_tokens) == 1
        return {"step": self.step,
                "ref_token": self.ref_tokens[0] if one else self.ref_tokens,
                "port_token": self.port_tokens[0] if one else self.port_tokens,
                "tokens_equal": self.tokens_equal, "top1": self.top1,
                "topk_overlap": self.topk_overlap, "kl": self.kl, "max_abs": self.max_abs,
                "nonfinite": self.nonfinite, "ref_margin": self.ref_margin}


def _top_ids(logits: np.ndarray, k: int) -> np.ndarray:
    """``[B, k]`` ids of the k largest logits, largest first."""
    k = min(k, logits.shape[-1])
    part = np.argpartition(-logits, k - 1, axis=-1)[:, :k]
    order = np.argsort(-np.take_along_axis(logits, part, axis=-1), axis=-1, kind="stable")
    return np.take_along_axis(part, order, axis=-1)


def _overlap(ref_ids: np.ndarray, port_ids: np.ndarray) -> float:
    k = min(ref_ids.shape[-1], port_ids.shape[-1])
    shared = [len(set(r[:k]) & set(p[:k])) / k for r, p in zip(ref_ids, port_ids, strict=True)]
    return float(np.mean(shared))


def compare_step(ref: GenerationRecord, port: GenerationRecord, step: int,
                 top_k: int = TOP_K) -> StepResult:
    """The agreement of ``step`` (both sides must have recorded it)."""
    result = StepResult(step, ref.tokens[step].tolist(), port.tokens[step].tolist(),
                        None, None, None, None, 0, None)
    if not (ref.has_logits or ref.has_topk) or not (port.has_logits or port.has_topk):
        return result  # tokens only
    if ref.has_logits and port.has_logits:
        r, p = ref.logits(step), port.logits(step)
        if r.shape != p.shape:
            raise ValueError(f"step {step}: logits {list(r.shape)} vs {list(p.shape)}")
        a = compare_logits(r[:, None, :], p[:, None, :])
        result.top1 = a.first_argmax_mismatch is None
        result.kl, result.max_abs, result.nonfinite = a.kl_max, a.max_abs, a.nonfinite
        if a.first_argmax_mismatch is not None:
            result.ref_margin = a.first_argmax_mismatch["ref_margin"]
        ref_ids, port_ids = _top_ids(r, top_k), _top_ids(p, top_k)
    else:
        ref_ids = ref.topk(step)[1] if ref.has_topk else _top_ids(ref.logits(step), top_k)
        port_ids = port.topk(step)[1] if port.has_topk else _top_ids(port.logits(step), top_k)
        result.top1 = bool(np.all(ref_ids[:, 0] == port_ids[:, 0]))  # exact: ids
    result.topk_overlap = _overlap(ref_ids, port_ids)
    result.ref_argmax, result.port_argmax = ref_ids[:, 0].tolist(), port_ids[:, 0].tolist()
    return result
