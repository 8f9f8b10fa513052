"""The token sets a decoder is probed with, each with what its audio should be.

Tokens are ``[B, Q, T]`` int64 (sequences, codebooks, frames), ids in ``[0, codebook_size)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: frames per repetition of the ``pattern`` probe
PATTERN_FRAMES = 4

#: what each probe's audio should be, in words (reports) — the keys are the probe names
EXPECTED = {
    "zeros": "silence, or audio repeating every frame",
    "constant": "silence, or audio repeating every frame",
    "pattern": f"audio repeating every {PATTERN_FRAMES} frames",
    "random": "audio (not silence, no NaN)",
    "reference": "speech-like audio",
    "port": "speech-like audio",
}


@dataclass(frozen=True)
class ProbeTokens:
    """One probe: its name, its tokens ``[B, Q, T]``, and the frames its input repeats at
    (None: not periodic)."""

    name: str
    tokens: np.ndarray
    period_frames: int | None

    @property
    def expected(self) -> str:
        return EXPECTED[self.name]


def probe_set(codebooks: int, frames: int, codebook_size: int, *,
              reference: np.ndarray | None = None, port: np.ndarray | None = None,
              seed: int = 0) -> list[ProbeTokens]:
    """The probes for a decoder reading ``codebooks`` × ``frames`` ids of ``codebook_size``.

    ``reference``/``port``: the reference's and the port's own tokens ``[B, Q, T]`` (added
    as the ``reference`` and ``port`` probes). Random ids come from ``seed``.
    """
    rng = np.random.default_rng(seed)
    shape = (1, codebooks, frames)
    motif = rng.integers(0, codebook_size, size=(1, codebooks, PATTERN_FRAMES))
    repeats = -(-frames // PATTERN_FRAMES)
    probes = [
        ProbeTokens("zeros", np.zeros(shape, np.int64), 1),
        ProbeTokens("constant", np.full(shape, codebook_size // 2, np.int64), 1),
        ProbeTokens("pattern", np.tile(motif, (1, 1, repeats))[..., :frames].astype(np.int64),
                    PATTERN_FRAMES),
        ProbeTokens("random", rng.integers(0, codebook_size, size=shape, dtype=np.int64), None),
    ]
    if reference is not None:
        probes.append(ProbeTokens("reference", np.asarray(reference, np.int64)[:1], None))
    if port is not None:
        probes.append(ProbeTokens("port", np.asarray(port, np.int64)[:1], None))
    return probes


def out_of_range(tokens: np.ndarray, codebook_size: int) -> str | None:
    """Words for the first codebook holding an id outside ``[0, codebook_size)``; None if
    every id is in range."""
    for q in range(tokens.shape[1]):
        ids = tokens[:, q]
        low, high = int(ids.min()), int(ids.max())
        if low < 0 or high >= codebook_size:
            bad = low if low < 0 else high
            return (f"ids out of range: codebook {q} holds {bad} (codebook size "
                    f"{codebook_size}: ids 0..{codebook_size - 1})")
    return None
