"""Logits agreement of a generation step by step: does the port's next-token distribution
match the reference's, and where does its argmax first differ?

Greedy decoding turns the first flipped argmax into a different token and everything after
it into a different continuation, so the step where top-1 first differs is where to look;
the reference's top-1 margin there says whether it was a near tie (precision) or a real
divergence. KL is ``KL(ref || port)`` of the softmaxes in nats; ``-inf`` logits (masked ids)
are legal, NaN and ``+inf`` in the port are counted as ``nonfinite``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_CHUNK_STEPS = 256  # steps per float64 block: bounds memory for 150k-entry vocabularies


@dataclass
class LogitsAgreement:
    """Step-by-step agreement of two ``[B, T, V]`` logits over their common steps.

    ``first_argmax_mismatch`` is ``{"sequence", "step", "ref_token", "port_token",
    "ref_margin"}`` (None when every argmax agrees); ``ref_margin`` is the reference's
    top-1 minus top-2 logit at that step.
    """

    ref_shape: list[int]
    port_shape: list[int]
    steps: int
    top1_agreement: float
    first_argmax_mismatch: dict | None
    kl_mean: float
    kl_max: float
    max_abs: float
    nonfinite: int

    @property
    def agrees(self) -> bool:
        return (self.first_argmax_mismatch is None and self.nonfinite == 0
                and self.ref_shape[:2] == self.port_shape[:2])

    def to_json(self) -> dict:
        return {"ref_shape": self.ref_shape, "port_shape": self.port_shape,
                "steps": self.steps, "top1_agreement": round(self.top1_agreement, 4),
                "first_argmax_mismatch": self.first_argmax_mismatch,
                "kl_mean": self.kl_mean, "kl_max": self.kl_max, "max_abs": self.max_abs,
                "nonfinite": self.nonfinite, "agrees": self.agrees}


def compare_logits(ref: np.ndarray, port: np.ndarray) -> LogitsAgreement:
    """Compare logits ``[T, V]`` or ``[B, T, V]``; raises ``ValueError`` when the batch or
    vocabulary sizes differ (the steps may differ: the common ones are compared)."""
    ref3, port3 = _as_btv(ref), _as_btv(port)
    if ref3.shape[0] != port3.shape[0] or ref3.shape[2] != port3.shape[2]:
        raise ValueError(f"logits shapes {list(ref.shape)} and {list(port.shape)} differ in "
                         "batch or vocabulary size")
    steps = min(ref3.shape[1], port3.shape[1])
    agree, kls, max_abs, nonfinite, first = [], [], 0.0, 0, None
    for b in range(ref3.shape[0]):
        for start in range(0, steps, _CHUNK_STEPS):
            r = ref3[b, start:start + _CHUNK_STEPS].astype(np.float64)
            p = port3[b, start:start + _CHUNK_STEPS].astype(np.float64)
            nonfinite += int(np.sum(np.isnan(p) | (p == np.inf)))  # -inf is a legal mask
            top_r, top_p = np.argmax(r, axis=-1), np.argmax(p, axis=-1)
            agree.append(top_r == top_p)
            kls.append(_kl(r, p))
            both = np.isfinite(r) & np.isfinite(p)
            if both.any():
                max_abs = max(max_abs, float(np.max(np.abs(p - r)[both])))
            differs = np.flatnonzero(top_r != top_p)
            if differs.size and (first is None or start + differs[0] < first["step"]):
                k = int(differs[0])
                second = np.partition(r[k], -2)[-2]
                first = {"sequence": b, "step": start + k, "ref_token": int(top_r[k]),
                         "port_token": int(top_p[k]),
                         "ref_margin": float(r[k, top_r[k]] - second)}
    kl = np.concatenate(kls) if kls else np.zeros(0)
    return LogitsAgreement(list(ref.shape), list(port.shape), steps,
                           float(np.concatenate(agree).mean()) if agree else 0.0, first,
                           float(kl.mean()) if kl.size else 0.0,
                           float(kl.max()) if kl.size else 0.0, max_abs, nonfinite)


def _as_btv(x: np.ndarray) -> np.ndarray:
    return x[None] if x.ndim == 2 else x


def _log_softmax(x: np.ndarray) -> np.ndarray:
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _kl(r: np.ndarray, p: np.ndarray) -> np.ndarray:
    """``KL(softmax(r) || softmax(p))`` per row, nats."""
    log_r, log_p = _log_softmax(r), _log_softmax(p)
    prob_r = np.exp(log_r)
    with np.errstate(invalid="ignore"):
        terms = np.where(prob_r > 0, prob_r * (log_r - log_p), 0.0)  # masked (-inf) ids add 0
    return terms.sum(axis=-1)
