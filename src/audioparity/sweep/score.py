"""The sweep score: one number per WAV, 0-100, higher is better; pure functions of metrics.

Without a reference the score is ``band floor + band width × quality``:

* the **band** comes from the audio verdict, so a verdict is never outranked by a worse one
  however good its other numbers look: ``speech`` / ``music_or_tonal`` score 60-100;
  ``clipped`` audio whose content underneath is speech or music scores 30-60; everything
  else (``noise``, ``tone``, ``silence``, ``empty``, ``invalid``, clipped noise) 0-30.
* **quality** (0..1) orders results inside a band: the product of the intrinsic factors
  below (one bad property is enough to sink a result).

With ``--ref`` the question is which setting reproduces the reference, so **similarity to
the reference dominates**: the score is ``similarity × (50 + audio score / 2)``, where the
audio score is the band score above. Similarity sets the ceiling and the audio's own quality
can take at most half of it away, so clean speech of the wrong sentence (similarity 0.07,
SNR -3 dB) scores 7 and falls below a clipped take of the right one (similarity 0.94, SNR
29 dB, audio score 59: 75), which the verdict bands alone would rank the other way round.

Intrinsic factors, each 1 for clean audio and falling linearly to 0 at the level of the
defect in its worst plausible form (so two bad results still differ; calibrated on
espeak-ng speech degraded as seed 004 describes):

=============  ============================================  ==============================
factor         from                                          1 at → 0 at
=============  ============================================  ==============================
clipping       max(clipped, flat-top) fraction               0 → 20 % (seed 004: 7 % at CFG 7)
noise          median spectral flatness                      ≤ 0.05 (speech) → 0.60 (white)
hf             energy share above 4 kHz                      ≤ 0.25 → 0.90 (seed 002: 0.82)
dc             abs DC offset                                  ≤ 0.01 → 0.20
silence        silent-frame share                             ≤ 0.5 → 1.0
=============  ============================================  ==============================

Similarity to the reference is the mean of the terms the comparison could score: gain-
corrected SNR (0 → 30 dB), multi-resolution STFT distance (6 → 0), wide-band PESQ
(1 → 4.5) and STOI (0.5 → 1), each mapped linearly onto 0..1 and clamped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..audio.metrics import AudioMetrics
from ..audio.verdict import GOOD_VERDICTS

BANDS = {"good": (60.0, 40.0), "clipped": (30.0, 30.0), "bad": (0.0, 30.0)}
"""band name -> (floor, width) of the score."""


def _ramp(value: float, one_at: float, zero_at: float) -> float:
    """1 at ``one_at``, 0 at ``zero_at``, linear between, clamped (either direction);
    NaN (not measurable) is 0, an infinite value lands on its end (SNR of identical
    signals: 1)."""
    if math.isnan(value):
        return 0.0
    t = (value - one_at) / (zero_at - one_at)
    return float(min(1.0, max(0.0, 1.0 - t)))


def quality_factors(m: AudioMetrics) -> dict[str, float]:
    """The intrinsic factors (0..1, 1 = clean) of one clip's metrics; see the module table."""
    return {
        "clipping": _ramp(max(m.clipped_fraction, m.flat_top_fraction), 0.0, 0.20),
        "noise": _ramp(m.spectral_flatness, 0.05, 0.60),
        "hf": _ramp(m.high_frequency_ratio, 0.25, 0.90),
        "dc": _ramp(abs(m.dc_offset), 0.01, 0.20),
        "silence": _ramp(m.silence_fraction, 0.5, 1.0),
    }


def similarity_terms(scores: dict) -> dict[str, float]:
    """The reference-similarity terms (0..1) that ``scores`` (from audio compare) allows."""
    ramps = {"snr_db_gain_corrected": (30.0, 0.0), "mrstft_distance": (0.0, 6.0),
             "pesq_wb": (4.5, 1.0), "stoi": (1.0, 0.5)}
    terms = {}
    for key, (one_at, zero_at) in ramps.items():
        value = scores.get(key)
        if isinstance(value, (int, float)) and not math.isnan(value):
            terms[key] = _ramp(float(value), one_at, zero_at)
    return terms


def band(verdict: str, content: str) -> str:
    """``good``, ``clipped`` (good content, clipped) or ``bad`` for an audio verdict."""
    if verdict in GOOD_VERDICTS:
        return "good"
    if verdict == "clipped" and content in GOOD_VERDICTS:
        return "clipped"
    return "bad"


@dataclass(frozen=True)
class Score:
    """A result's score and everything it was made from (for the JSON and the docs)."""

    value: float
    band: str
    quality: float
    factors: dict[str, float]
    similarity: float | None = None
    similarity_terms: dict[str, float] | None = None
    audio_score: float | None = None

    def to_dict(self) -> dict:
        return {"value": self.value, "band": self.band, "quality": self.quality,
                "factors": self.factors, "audio_score": self.audio_score,
                "similarity": self.similarity, "similarity_terms": self.similarity_terms}


def score(verdict: str, content: str, m: AudioMetrics, ref_scores: dict | None = None) -> Score:
    """Score one clip from its verdict, metrics and (optional) comparison with the reference.

    Parameters
    ----------
    verdict, content : from :func:`audioparity.audio.classify` (``content`` is what lies
        under a ``clipped`` verdict).
    ref_scores : ``AudioComparison.scores`` against ``--ref``, or None.

    Returns
    -------
    Score : ``value`` is the band score (0-100) without a reference and
        ``similarity × (50 + band score / 2)`` with one; ``audio_score`` is the band score.
    """
    factors = quality_factors(m)
    quality = math.prod(factors.values())
    name = band(verdict, content)
    floor, width = BANDS[name]
    audio_score = floor + width * quality
    value, similarity, terms = audio_score, None, None
    if ref_scores is not None:
        terms = similarity_terms(ref_scores)
        similarity = sum(terms.values()) / len(terms) if terms else 0.0
        value = similarity * (50.0 + audio_score / 2)
    return Score(round(value, 2), name, quality, factors, similarity, terms,
                 round(audio_score, 2))
