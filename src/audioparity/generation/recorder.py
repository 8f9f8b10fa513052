"""Record a hand-written generation loop, in any Python runtime (NumPy, torch, MLX, ONNX
Runtime): one call per step.

>>> with record_generation("port.safetensors", eos_token_id=2, max_new_tokens=64) as gen:
...     for _ in range(64):
...         logits = step_forward(...)             # the port's own forward, [B, V]
...         token = int(np.argmax(logits[0]))
...         gen.end_step(logits=logits, token=[token])
...         if token == 2:
...             break

:meth:`GenerationRecorder.record` stores a layer's tensor under the current step's name
(``@k/model.layers.0.mlp``: the names the torch capture gives the reference's modules), so
the per-layer comparison of the step where the tokens first differ is one ``compare`` away.
Names of the generation record: :mod:`.names`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..sources.recorder import error_line
from ..trace import TraceWriter
from . import names


class Sink(Protocol):
    """Where recorded arrays go: a :class:`~audioparity.trace.TraceWriter` or an adapter."""

    def add(self, name: str, array: np.ndarray) -> None: ...


def as_numpy(value: Any) -> np.ndarray:
    """A NumPy copy of a torch tensor (bf16 widened to float32), an MLX array, an ONNX
    Runtime output or anything ``np.asarray`` takes."""
    if hasattr(value, "detach"):  # torch
        t = value.detach().cpu()
        return (t.float() if str(t.dtype) == "torch.bfloat16" else t).numpy().copy()
    return np.array(value)


@dataclass
class GenerationRecorder:
    """Names the tensors of a loop by step and hands them to ``sink``.

    ``step`` is the step being recorded (0 for the first token, the prompt's forward).
    """

    sink: Sink
    step: int = 0

    def record(self, name: str, value: Any) -> None:
        """A tensor of the current step (a layer's output) as ``@step/name``."""
        self.sink.add(names.step_name(self.step, name), as_numpy(value))

    def end_step(self, *, token: Any = None, logits: Any = None,
                 topk: tuple[Any, Any] | None = None, uniform: Any = None,
                 sampled: bool = False) -> None:
        """Close the step: its ``token`` ``[B]`` (None for a loop that emits no tokens,
        e.g. a diffusion sampler), and optionally ``logits`` ``[B, V]`` or
        ``topk = (values, ids)`` ``[B, K]``, the ``uniform`` ``[B]`` the sampler drew;
        ``sampled`` also records the token as a draw (``draws.token``)."""
        if logits is not None:
            self.sink.add(names.step_name(self.step, names.LOGITS),
                          np.atleast_2d(as_numpy(logits)).astype(np.float32))
        if topk is not None:
            values, ids = (np.atleast_2d(as_numpy(a)) for a in topk)
            self.sink.add(names.step_name(self.step, names.TOPK_VALUES), values.astype(np.float32))
            self.sink.add(names.step_name(self.step, names.TOPK_IDS), ids.astype(np.int64))
        if uniform is not None:
            self.sink.add(names.step_name(self.step, names.UNIFORM),
                          np.atleast_1d(as_numpy(uniform)).astype(np.float64))
        if token is not None:
            tok = np.atleast_1d(as_numpy(token)).astype(np.int64)
            if sampled:
                self.sink.add(names.step_name(self.step, names.DRAW_TOKEN), tok)
            self.sink.add(names.step_name(self.step, names.TOKEN), tok)
        self.step += 1

    def noise(self, value: Any, init: bool = False) -> None:
        """A diffusion sampler's noise: the initial latents (``init``: ``draws.noise.init``)
        or this step's noise (``@step/draws.noise``)."""
        name = names.NOISE_INIT if init else names.step_name(self.step, names.NOISE)
        self.sink.add(name, as_numpy(value).astype(np.float32))


def generation_meta(eos_token_id: int | list[int] | None = None,
                    max_new_tokens: int | None = None, sampling: dict | None = None,
                    replayed: bool = False) -> dict[str, Any]:
    """The ``generation`` entry of a trace's meta: EOS id(s), length limit, the sampler's
    settings (``{"temperature", "top_k", "top_p"}``; None for greedy) and whether the loop
    took its draws from a reference (:class:`~audioparity.generation.replay.Replay`)."""
    eos = [eos_token_id] if isinstance(eos_token_id, int) else eos_token_id
    return {"eos_token_id": None if eos is None else [int(e) for e in eos],
            "max_new_tokens": max_new_tokens, "sampling": sampling,
            "scheme": "inverse_cdf" if sampling else None, "replayed": bool(replayed)}


@contextlib.contextmanager
def record_generation(path: str | Path, *, eos_token_id: int | list[int] | None = None,
                      max_new_tokens: int | None = None, sampling: dict | None = None,
                      replayed: bool = False, meta: dict[str, Any] | None = None
                      ) -> Iterator[GenerationRecorder]:
    """A :class:`GenerationRecorder` writing a native trace at ``path`` (atomically, when
    the block ends). When the block raises, what was recorded is kept, marked
    ``"incomplete": true`` with the error, and the exception propagates."""
    writer = TraceWriter(path, {"source": "generation loop", **(meta or {}),
                                "generation": generation_meta(eos_token_id, max_new_tokens,
                                                              sampling, replayed)})
    gen = GenerationRecorder(writer)
    try:
        yield gen
    except BaseException as exc:
        writer.meta.update({"incomplete": True, "error": error_line(exc), "steps": gen.step})
        writer.close()
        raise
    writer.meta["steps"] = gen.step
    writer.close()
