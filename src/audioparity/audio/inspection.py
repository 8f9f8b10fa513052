"""One file end to end: read it, measure it, give the verdict."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..contract import checked
from .io import AudioClip, load_audio
from .metrics import AudioMetrics, describe
from .vad import VadOpinion, silero_opinion
from .verdict import Verdict, classify


@dataclass
class Inspection:
    """A file's facts, metrics and verdict; ``to_dict`` is the JSON shape."""

    clip: AudioClip
    metrics: AudioMetrics
    verdict: Verdict

    def to_dict(self) -> dict:
        c = self.clip
        return {"status": checked(self.verdict.ok), "path": c.path, "sample_rate_hz": c.sr, "channels": c.channels,
                "frames": c.frames, "duration_s": c.duration_s, "format": c.format,
                "subtype": c.subtype, "analysed_s": c.analysed_s, "excerpts": c.excerpts,
                "mono_mix": c.channels > 1, "nonfinite_samples": c.nonfinite,
                "notes": c.notes, **self.verdict.to_dict(), "metrics": self.metrics.to_dict()}


def inspect_file(path: str | Path, use_vad: bool = True) -> Inspection:
    """Read ``path`` (see :func:`~audioparity.audio.io.load_audio`), measure and classify it.

    ``use_vad`` asks Silero VAD for a second opinion when the package is installed.
    """
    clip = load_audio(path)
    metrics = describe(clip.y, clip.sr)
    needs_vad = use_vad and not clip.nonfinite and metrics.duration_s > 0.05
    vad = silero_opinion(clip.y, clip.sr) if needs_vad else VadOpinion(
        used=False, reason="not used: disabled" if not use_vad else "not used: no audio")
    return Inspection(clip, metrics, classify(metrics, vad, clip.nonfinite))
