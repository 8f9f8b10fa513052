"""Hand a port the reference's recorded random draws, in order, instead of its RNG.

>>> replay = Replay.from_trace("ref.safetensors")   # InputError when it recorded no draws
>>> for step in range(max_new_tokens):
...     logits = port_forward(...)
...     u = replay.next("uniform", shape=(1,))       # the reference's @step/draws.uniform
...     token = inverse_cdf(port_probs(logits), u)
>>> replay.check_done()                              # every recorded draw was used

Streams: ``"uniform"`` (``@k/draws.uniform``, sampling), ``"token"`` (``@k/draws.token``:
the reference's sampled token, for a port whose sampler takes no uniform), ``"noise"``
(``draws.noise.init`` first, then ``@k/draws.noise``: a diffusion sampler). Each stream is
handed out in step order; asking for more draws than were recorded, or another shape,
raises :class:`ReplayError` naming the stream, the draw and what was recorded — a port
that consumes its draws differently from the reference is a bug to see, not to paper over.
``next`` returns NumPy; :meth:`Replay.torch` and :meth:`Replay.mlx` convert. Ports in other
languages read the same tensors from the trace with a stock safetensors reader
(``docs/generation.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..trace import Trace, open_trace
from . import names

STREAMS = ("uniform", "token", "noise")


class ReplayError(RuntimeError):
    """The port asked for a draw the reference did not record (more, or another shape)."""


def _streams(trace: Trace) -> dict[str, list[str]]:
    ordered = {b: [n for _, n in sorted(v)] for b, v in names.steps_by_base(trace.names).items()}
    noise = ([names.NOISE_INIT] if names.NOISE_INIT in trace else []) + ordered.get(
        names.NOISE, [])
    return {"uniform": ordered.get(names.UNIFORM, []),
            "token": ordered.get(names.DRAW_TOKEN, []), "noise": noise}


class Replay:
    """The reference's draws of one trace, handed out stream by stream in step order."""

    def __init__(self, trace: Trace):
        self.trace = trace
        self.path = trace.path
        self.streams = _streams(trace)
        self.used = dict.fromkeys(STREAMS, 0)
        if not any(self.streams.values()):
            raise InputError(self.path, "no recorded draws (@k/draws.uniform, @k/draws.token, "
                                        "draws.noise.init, @k/draws.noise): record the "
                                        "reference with sampling through audioparity's "
                                        "capture to replay it")

    @classmethod
    def from_trace(cls, path: str | Path) -> Replay:
        return cls(open_trace(path))

    def available(self, stream: str) -> int:
        """Draws of ``stream`` recorded in all."""
        return len(self.streams[self._check(stream)])

    def next(self, stream: str, shape: Sequence[int] | None = None) -> np.ndarray:
        """The next recorded draw of ``stream``; ``shape`` (when given) must equal its
        recorded shape."""
        stream = self._check(stream)
        recorded = self.streams[stream]
        i = self.used[stream]
        if i >= len(recorded):
            raise ReplayError(f"{self.path}: the port asked for {stream} draw #{i + 1} but the "
                              f"reference recorded {len(recorded)}: the port draws more often "
                              "than the reference (or runs past its stop)")
        name = recorded[i]
        info = self.trace.info(name)
        if shape is not None and tuple(shape) != tuple(info.shape):
            raise ReplayError(f"{self.path}: the port asked for {stream} draw #{i + 1} "
                              f"({name}) with shape {tuple(shape)} but the reference's has "
                              f"shape {tuple(info.shape)}")
        self.used[stream] = i + 1
        return np.array(self.trace.read(name))

    def torch(self, stream: str, shape: Sequence[int] | None = None) -> Any:
        """:meth:`next` as a torch tensor."""
        import torch

        return torch.from_numpy(self.next(stream, shape))

    def mlx(self, stream: str, shape: Sequence[int] | None = None) -> Any:
        """:meth:`next` as an MLX array."""
        import mlx.core as mx

        return mx.array(self.next(stream, shape))

    def remaining(self) -> dict[str, int]:
        """Recorded draws not handed out yet, per stream."""
        return {s: len(self.streams[s]) - self.used[s] for s in STREAMS}

    def check_done(self) -> None:
        """Raise :class:`ReplayError` when a stream the port used still has draws left (the
        port stopped drawing before the reference did)."""
        left = {s: n for s, n in self.remaining().items() if n and self.used[s]}
        if left:
            raise ReplayError(f"{self.path}: the port stopped drawing early: "
                              + ", ".join(f"{n} {s} draws left" for s, n in left.items()))

    def _check(self, stream: str) -> str:
        if stream not in STREAMS:
            raise ValueError(f"unknown draw stream {stream!r}; known: {', '.join(STREAMS)}")
        return stream
