"""What a clip sounds like: ``speech``, ``music_or_tonal``, ``tone``, ``noise``, ``silence``,
``clipped``, ``empty`` or ``invalid``, with the measured reasons.

Rules over :class:`~audioparity.audio.metrics.AudioMetrics`, calibrated on espeak-ng speech
(8 voices/languages, 120-220 wpm, 16-48 kHz), tones, melodies, white/pink/brown noise,
phase-randomised speech, silence, clipped and DC-shifted speech (``tests/audio``). The
decisive cue is periodicity: speech alternates voiced and unvoiced frames (espeak: 20-65 %
voiced), noise has no voiced frames whatever its spectrum, a tone is voiced throughout at a
fixed pitch. Silero VAD, where installed, is a second opinion on speech.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .metrics import AudioMetrics
from .vad import VadOpinion

VERDICTS = ("speech", "music_or_tonal", "tone", "noise", "silence", "clipped", "empty",
            "invalid")
GOOD_VERDICTS = ("speech", "music_or_tonal")
"""Verdicts that mean "plausible output" (``inspect`` exits 0)."""

MIN_DURATION_S = 0.05
SILENCE_PEAK_DBFS = -50.0
CLIPPED_FRACTION = 0.001
FLAT_TOP_FRACTION = 0.002
NOISE_MAX_VOICED = 0.10
NOISE_MAX_HARMONICITY = 0.60
TONE_MIN_VOICED = 0.90
TONE_MAX_SPREAD_ST = 0.5
MUSIC_MIN_VOICED = 0.85
MUSIC_MIN_HARMONICITY = 0.95
SPEECH_F0_HZ = (60.0, 500.0)
VAD_SPEECH = 0.5
VAD_NOT_SPEECH = 0.2
DC_WARN = 0.02
HF_WARN = 0.5
FLATNESS_NOISY = 0.3


@dataclass
class Verdict:
    """The verdict, the reasons for it, and further findings that do not change it.

    content : what the audio is underneath any clipping (equals ``verdict`` otherwise).
    vad : Silero's opinion (``used`` False when not installed or not asked).
    """

    verdict: str
    reasons: list[str]
    content: str
    vad: VadOpinion
    findings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.verdict in GOOD_VERDICTS

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "ok": self.ok, "content": self.content,
                "reasons": self.reasons, "findings": self.findings, "vad": self.vad.to_dict()}


def _content(m: AudioMetrics) -> tuple[str, list[str]]:
    """Speech / music_or_tonal / tone / noise from periodicity, ignoring clipping."""
    v, h = m.voiced_fraction, m.harmonicity
    if v < NOISE_MAX_VOICED and h < NOISE_MAX_HARMONICITY:
        why = [f"voiced frames {v:.2f} < {NOISE_MAX_VOICED}",
               f"harmonicity {h:.2f} < {NOISE_MAX_HARMONICITY}"]
        if m.spectral_flatness >= FLATNESS_NOISY:
            why.insert(0, f"spectral flatness {m.spectral_flatness:.2f} ≥ {FLATNESS_NOISY}")
        return "noise", why
    if v >= TONE_MIN_VOICED and m.f0_spread_semitones < TONE_MAX_SPREAD_ST:
        return "tone", [f"voiced frames {v:.2f} ≥ {TONE_MIN_VOICED}",
                        (f"steady pitch (spread {m.f0_spread_semitones:.2f} < "
                        f"{TONE_MAX_SPREAD_ST} semitones)"),
                        f"strongest component {m.dominant_frequency_hz:.0f} Hz"]
    if v >= MUSIC_MIN_VOICED and h >= MUSIC_MIN_HARMONICITY:
        return "music_or_tonal", [
            (f"voiced almost throughout ({v:.2f} ≥ {MUSIC_MIN_VOICED}) with harmonicity "
            f"{h:.2f} ≥ {MUSIC_MIN_HARMONICITY}: speech has unvoiced consonants and pauses")]
    if v < NOISE_MAX_VOICED:
        return "music_or_tonal", [(f"few voiced frames ({v:.2f}) but harmonicity {h:.2f} ≥ "
                                  f"{NOISE_MAX_HARMONICITY}: inharmonic or percussive")]
    lo, hi = SPEECH_F0_HZ
    if not lo <= m.f0_median_hz <= hi:
        return "music_or_tonal", [(f"median f0 {m.f0_median_hz:.0f} Hz outside the voice "
                                  f"range {lo:.0f}-{hi:.0f} Hz")]
    return "speech", [f"voiced frames {v:.2f} alternate with unvoiced ones",
                      (f"f0 {m.f0_min_hz:.0f}-{m.f0_max_hz:.0f} Hz "
                      f"(median {m.f0_median_hz:.0f} Hz) in the voice range"),
                      f"harmonicity {h:.2f}"]


def _second_opinion(content: str, why: list[str], m: AudioMetrics,
                    vad: VadOpinion) -> tuple[str, list[str]]:
    if not vad.used:
        return content, why
    if content == "speech" and vad.speech_fraction < VAD_NOT_SPEECH:
        alt = "music_or_tonal" if m.harmonicity >= NOISE_MAX_HARMONICITY else "noise"
        return alt, why + [(f"but Silero VAD finds speech in only {vad.speech_fraction:.0%} "
                           f"of windows (< {VAD_NOT_SPEECH:.0%}) → {alt}")]
    if content in ("music_or_tonal", "noise") and vad.speech_fraction >= VAD_SPEECH:
        return "speech", why + [(f"but Silero VAD finds speech in {vad.speech_fraction:.0%} "
                                f"of windows (≥ {VAD_SPEECH:.0%}) → speech")]
    return content, why + [f"Silero VAD: speech in {vad.speech_fraction:.0%} of windows"]


def _findings(m: AudioMetrics) -> list[str]:
    out = []
    if abs(m.dc_offset) >= DC_WARN:
        out.append(f"DC offset {m.dc_offset:+.3f} (|DC| ≥ {DC_WARN})")
    if m.high_frequency_ratio >= HF_WARN:
        out.append(f"{m.high_frequency_ratio:.1%} of energy above 4 kHz (speech: under 20%)")
    if m.peak > 1.0:
        out.append(f"peak {m.peak:.2f} exceeds full scale: a WAV writer will clip it")
    if 0 < m.clipped_fraction < CLIPPED_FRACTION:
        out.append(f"{m.clipped_fraction:.2%} of samples at full scale")
    return out


def classify(m: AudioMetrics, vad: VadOpinion | None = None, nonfinite: int = 0) -> Verdict:
    """The verdict for a clip's metrics, with reasons ("... → noise").

    Parameters
    ----------
    m : metrics from :func:`~audioparity.audio.metrics.describe`.
    vad : Silero's opinion, or None (not asked).
    nonfinite : NaN/Inf samples found while reading (any makes the clip ``invalid``).
    """
    vad = vad or VadOpinion(used=False, reason="not used: not asked")
    if nonfinite:
        return Verdict("invalid", [f"{nonfinite} NaN/Inf samples → invalid"], "invalid", vad)
    if m.duration_s < MIN_DURATION_S:
        why = f"duration {m.duration_s * 1000:.1f} ms < {MIN_DURATION_S * 1000:.0f} ms → empty"
        return Verdict("empty", [why], "empty", vad)
    if m.peak_dbfs < SILENCE_PEAK_DBFS:
        why = f"peak {m.peak_dbfs:.1f} dBFS < {SILENCE_PEAK_DBFS:.0f} dBFS → silence"
        return Verdict("silence", [why], "silence", vad, _findings(m))
    content, why = _second_opinion(*_content(m), m, vad)
    findings = _findings(m)
    clip_why = []
    if m.clipped_fraction >= CLIPPED_FRACTION:
        clip_why.append(f"{m.clipped_fraction:.1%} of samples at or past full scale "
                        f"(≥ {CLIPPED_FRACTION:.1%})")
    if m.flat_top_fraction >= FLAT_TOP_FRACTION and content != "tone":
        clip_why.append(f"{m.flat_top_fraction:.1%} of samples in flat runs at the peak "
                        f"{m.peak:.3f} (≥ {FLAT_TOP_FRACTION:.1%})")
    if clip_why:
        return Verdict("clipped", clip_why + [f"underneath: {content}"] + ["→ clipped"],
                       content, vad, findings)
    return Verdict(content, why[:-1] + [why[-1] + f" → {content}"] if why else [content],
                   content, vad, findings)
