"""Silero VAD as a second opinion on "is this speech" (optional ``audio`` extra).

The model ships inside the ``silero-vad`` package (``silero_vad/data/silero_vad.jit``), so it
runs offline. Import is lazy: without the package (or torch) the opinion is "not used".
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .spectral import resample

VAD_SR = 16000
VAD_THRESHOLD = 0.5
"""A 32 ms window is speech when its Silero probability reaches this."""
MAX_VAD_S = 120.0
"""At most this many seconds are run through the model (the start of the analysed audio)."""


@dataclass(frozen=True)
class VadOpinion:
    """Silero's view of a clip.

    used : whether the model ran (False: package missing or disabled; ``reason`` says why).
    speech_fraction : share of non-silent 32 ms windows Silero calls speech (0..1).
    """

    used: bool
    speech_fraction: float = float("nan")
    reason: str = ""

    def to_dict(self) -> dict:
        return {"used": self.used, "speech_fraction": self.speech_fraction,
                "reason": self.reason}


@lru_cache(maxsize=1)
def _model():
    import warnings

    import torch
    from silero_vad import load_silero_vad

    threads = torch.get_num_threads()
    with warnings.catch_warnings():  # its loader uses deprecated importlib/jit APIs
        warnings.simplefilter("ignore", DeprecationWarning)
        model = load_silero_vad()
    torch.set_num_threads(threads)  # silero_vad sets 1 globally on import; keep the caller's
    return model


def silero_opinion(y: np.ndarray, sr: int) -> VadOpinion:
    """Run Silero VAD on ``y`` (any rate; resampled to 16 kHz) and summarise it."""
    try:
        import torch
        model = _model()
    except ImportError as exc:
        return VadOpinion(used=False, reason=f"not used: {exc.name or 'silero-vad'} not installed")
    x = resample(y, sr, VAD_SR)[: int(MAX_VAD_S * VAD_SR)]
    if len(x) < 512:
        return VadOpinion(used=False, reason="not used: clip shorter than one 32 ms window")
    x = x - x.mean()
    windows = x[: len(x) // 512 * 512].reshape(-1, 512)
    loud = np.sqrt(np.mean(windows ** 2, axis=1)) > 10 ** (-55 / 20)
    scale = 0.5 / max(float(np.max(np.abs(x))), 1e-9)  # Silero is level-sensitive
    with torch.inference_mode():
        model.reset_states()
        probs = model.audio_forward(torch.from_numpy(np.ascontiguousarray(x * scale)), VAD_SR)
    probs = probs.reshape(-1).numpy()[: len(windows)]
    loud = loud[: len(probs)]
    if not loud.any():
        return VadOpinion(used=True, speech_fraction=0.0, reason="no window above -55 dBFS")
    return VadOpinion(used=True, speech_fraction=float(np.mean(probs[loud] >= VAD_THRESHOLD)))
