"""What one job's WAV is: the audio verdict and metrics, the comparison with ``--ref``, the
score. Runs where the job ran (a pool worker or a Ray node), so only numbers travel back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..audio import compare_files, inspect_file
from .score import Score, score


@dataclass(frozen=True)
class Assessment:
    """The audio side of a job's result; ``to_dict`` is its part of the sweep JSON.

    reference : scores and causes against ``--ref`` (None without one).
    """

    verdict: str
    content: str
    ok: bool
    reasons: list[str]
    findings: list[str]
    duration_s: float
    sample_rate_hz: int
    metrics: dict
    score: Score
    reference: dict | None = None

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "content": self.content, "ok": self.ok,
                "reasons": self.reasons, "findings": self.findings,
                "duration_s": self.duration_s, "sample_rate_hz": self.sample_rate_hz,
                "metrics": self.metrics, "reference": self.reference,
                "score": self.score.to_dict()}


def _reference(ref: str, path: str) -> dict:
    """The comparison's scores (SNR, MR-STFT, MCD, PESQ, STOI, ...) with lag, gain and the
    causes it named, flattened for the JSON."""
    c = compare_files(ref, path)
    return {**c.scores, "lag_ms": c.lag_ms, "gain_db": c.gain_db,
            "duration_ratio": c.duration_ratio, "causes": [x["cause"] for x in c.causes]}


def assess_wav(path: str | Path, ref: str | Path | None = None,
               use_vad: bool = True) -> Assessment:
    """Inspect ``path``, compare it with ``ref`` when given, and score it.

    Raises
    ------
    InputError : the file is missing or not readable as audio.
    """
    found = inspect_file(path, use_vad=use_vad)
    reference = _reference(str(ref), str(path)) if ref is not None else None
    v = found.verdict
    return Assessment(
        verdict=v.verdict, content=v.content, ok=v.ok, reasons=v.reasons,
        findings=found.clip.notes + v.findings, duration_s=found.clip.duration_s,
        sample_rate_hz=found.clip.sr, metrics=found.metrics.to_dict(),
        score=score(v.verdict, v.content, found.metrics,
                    reference),
        reference=reference)
