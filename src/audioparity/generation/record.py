"""Read a generation record (:mod:`.names`) from a trace, checked: contiguous steps, one
shape for every step's tokens, logits and draws. A malformed record is an
:class:`~audioparity.errors.InputError` naming the file and the problem."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..trace import Trace
from . import names


@dataclass
class GenerationRecord:
    """One side's generation: ``tokens`` ``[steps, B]``, logits (or top-k) read per step,
    the uniforms drawn ``[steps, B]`` (None when none were recorded), and the meta."""

    trace: Trace
    tokens: np.ndarray
    has_logits: bool
    has_topk: bool
    uniforms: np.ndarray | None
    eos: list[int] | None
    max_new_tokens: int | None
    sampling: dict | None
    replayed: bool

    @property
    def path(self) -> Path:
        return Path(self.trace.path)

    @property
    def steps(self) -> int:
        return int(self.tokens.shape[0])

    @property
    def batch(self) -> int:
        return int(self.tokens.shape[1])

    @property
    def sampled(self) -> bool:
        """Whether the tokens were drawn at random (recorded draws or sampling settings)."""
        return self.uniforms is not None or bool(self.sampling)

    def logits(self, step: int) -> np.ndarray:
        """``[B, V]`` logits of ``step`` (stored ``[V]`` or ``[B, 1, V]`` reads the same)."""
        stored = np.asarray(self.trace.read(names.step_name(step, names.LOGITS)), np.float32)
        return stored.reshape(self.batch, stored.shape[-1])

    def topk(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """``(values, ids)`` ``[B, K]`` of ``step``."""
        return (np.asarray(self.trace.read(names.step_name(step, names.TOPK_VALUES))),
                np.asarray(self.trace.read(names.step_name(step, names.TOPK_IDS)), np.int64))


def _check_steps(trace: Trace, base: str, steps: dict[int, str], expected: int | None,
                 ) -> list[str]:
    """The names of ``base`` for steps ``0..n-1``, every one present with one shape."""
    n = expected if expected is not None else len(steps)
    missing = [k for k in range(n) if k not in steps]
    extra = sorted(k for k in steps if k >= n)
    if missing or extra:
        which = f"step {missing[0]} has none" if missing else f"step {extra[0]} has one"
        raise InputError(trace.path, f"@k/{base} not recorded for every step: {which} "
                                     f"({len(steps)} recorded, generation has {n} steps)")
    ordered = [steps[k] for k in range(n)]
    shapes = {trace.info(nm).shape for nm in ordered}
    if len(shapes) > 1:
        first = trace.info(ordered[0])
        odd = next(trace.info(nm) for nm in ordered if trace.info(nm).shape != first.shape)
        raise InputError(trace.path, f"steps of different lengths: {first.name} has shape "
                                     f"{list(first.shape)}, {odd.name} {list(odd.shape)}")
    return ordered


def _meta(trace: Trace) -> dict[str, Any]:
    meta = trace.meta.get("generation") if isinstance(trace.meta, dict) else None
    return meta if isinstance(meta, dict) else {}


def read_record(trace: Trace) -> GenerationRecord | None:
    """The generation record of ``trace``; None when it holds no ``@k/gen.token``."""
    by_base = {base: dict(steps) for base, steps in names.steps_by_base(trace.names).items()}
    token_steps = by_base.get(names.TOKEN, {})
    logit_steps = by_base.get(names.LOGITS, {})
    if not token_steps:
        if logit_steps:
            raise InputError(trace.path, "@k/gen.logits recorded without @k/gen.token: record "
                                         "the token each step chose too")
        return None
    token_names = _check_steps(trace, names.TOKEN, token_steps, None)
    n = len(token_names)
    tokens = np.stack([np.asarray(trace.read(nm)).reshape(-1) for nm in token_names])
    if tokens.dtype.kind == "f" and not np.all(tokens == np.round(tokens)):  # exact
        raise InputError(trace.path, "@k/gen.token holds fractional values: token ids expected")
    batch = tokens.shape[1]
    has_logits = bool(logit_steps)
    if has_logits:
        first = trace.info(_check_steps(trace, names.LOGITS, logit_steps, n)[0])
        if not first.shape or int(np.prod(first.shape[:-1])) != batch:
            raise InputError(trace.path, f"{first.name} has shape {list(first.shape)}: "
                                         f"[{batch}, vocabulary] expected (one row per sequence)")
    topk_steps = by_base.get(names.TOPK_IDS, {})
    if topk_steps:
        _check_steps(trace, names.TOPK_IDS, topk_steps, n)
        _check_steps(trace, names.TOPK_VALUES, by_base.get(names.TOPK_VALUES, {}), n)
    uniform_steps = by_base.get(names.UNIFORM, {})
    uniforms = None
    if uniform_steps:
        uniforms = np.stack([np.asarray(trace.read(nm), np.float64).reshape(-1) for nm in
                             _check_steps(trace, names.UNIFORM, uniform_steps, n)])
    meta = _meta(trace)
    eos = meta.get("eos_token_id")
    eos = [eos] if isinstance(eos, int) else eos
    return GenerationRecord(trace, tokens.astype(np.int64), has_logits, bool(topk_steps),
                            uniforms, [int(e) for e in eos] if eos else None,
                            meta.get("max_new_tokens"), meta.get("sampling") or None,
                            bool(meta.get("replayed")))
