"""Audio metrics: pure functions of ``(y, sr)``, each with its unit in the name or docstring.

``y`` is a mono signal at full scale 1.0 and ``sr`` its sample rate in Hz. :func:`describe`
computes everything at once, sharing one spectrogram and one pitch track.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np

from .pitch import PitchTrack, yin
from .spectral import BLOCK_FRAMES, frame_lengths, frame_signal, iter_power_blocks

HF_SPLIT_HZ = 4000.0
"""High-frequency energy is the share of power above this frequency (speech: under ~20 %)."""
CLIP_LEVEL = 0.999
"""Samples with ``|y| >= CLIP_LEVEL`` are at (or past) full scale."""
SILENCE_FLOOR_DBFS = -60.0
"""Frames quieter than this are silent whatever the rest of the clip does."""
SILENCE_RELATIVE_DB = 45.0
"""Frames this far below the clip's loud frames (99th percentile) are silent too."""
EPS = 1e-12
SAMPLE_BLOCK = 1 << 20
"""Samples processed at once by the level metrics (bounded temporaries on long clips)."""


def _blocks(y: np.ndarray) -> Iterator[np.ndarray]:
    for start in range(0, len(y), SAMPLE_BLOCK):
        yield y[start: start + SAMPLE_BLOCK]


def _db(power: np.ndarray | float) -> np.ndarray:
    return 10.0 * np.log10(np.maximum(power, EPS))


def duration_s(y: np.ndarray, sr: int) -> float:
    """Duration in seconds."""
    return len(y) / float(sr)


def peak(y: np.ndarray) -> float:
    """Largest absolute sample value (full scale = 1.0)."""
    return max((float(np.max(np.abs(b))) for b in _blocks(y)), default=0.0)


def rms(y: np.ndarray) -> float:
    """Root-mean-square level (full scale sine = 0.707)."""
    if len(y) == 0:
        return 0.0
    return float(np.sqrt(sum(float(np.sum(np.square(b, dtype=np.float64))) for b in _blocks(y))
                         / len(y)))


def dbfs(level: float) -> float:
    """Amplitude level in dB relative to full scale (``20 log10``); -inf for 0."""
    return float(20.0 * np.log10(level)) if level > 0 else float("-inf")


def dc_offset(y: np.ndarray) -> float:
    """Mean sample value (DC offset, full scale 1.0)."""
    return float(np.mean(y, dtype=np.float64)) if len(y) else 0.0


def crest_factor_db(y: np.ndarray) -> float:
    """Peak-to-RMS ratio in dB (sine 3 dB, speech 15-25 dB, hard-clipped audio low)."""
    level = rms(y)
    return dbfs(peak(y) / level) if level > 0 else 0.0


def clipped_fraction(y: np.ndarray, level: float = CLIP_LEVEL) -> float:
    """Fraction of samples at or beyond full scale (``|y| >= level``); 0..1.

    Float audio past 1.0 counts: that is what a WAV writer will clip (seed 004: 7 % at CFG 7).
    """
    if len(y) == 0:
        return 0.0
    return sum(int(np.count_nonzero(np.abs(b) >= level)) for b in _blocks(y)) / len(y)


def flat_top_fraction(y: np.ndarray, min_run: int = 3, rel_tol: float = 1e-3) -> float:
    """Fraction of samples in runs of ``min_run``+ consecutive samples stuck at the peak level.

    Catches a clamp at any level (``clip(x, -0.8, 0.8)``), not only at full scale: samples
    within ``rel_tol`` (relative) of ``+peak`` or ``-peak`` of the clip itself.
    """
    top = peak(y)
    if top <= 0 or len(y) < min_run:
        return 0.0
    # only samples near the peak matter: collect their indices block by block
    idx = np.concatenate([np.flatnonzero(np.abs(np.abs(b) - top) <= rel_tol * top) + start
                          for start, b in zip(range(0, len(y), SAMPLE_BLOCK), _blocks(y),
                                              strict=True)])
    if len(idx) == 0:
        return 0.0
    breaks = np.flatnonzero(np.diff(idx) != 1)
    runs = np.diff(np.concatenate(([0], breaks + 1, [len(idx)])))
    return float(runs[runs >= min_run].sum() / len(y))


def zero_crossing_rate_hz(y: np.ndarray, sr: int) -> float:
    """Sign changes per second (DC removed first); white noise ~ sr/2, a tone 2·f."""
    if len(y) < 2:
        return 0.0
    mean = np.float32(dc_offset(y))
    crossings = 0
    for start in range(0, len(y) - 1, SAMPLE_BLOCK):
        sign = np.signbit(y[start: start + SAMPLE_BLOCK + 1] - mean)  # one sample overlap
        crossings += int(np.count_nonzero(sign[1:] != sign[:-1]))
    return float(crossings * sr / (len(y) - 1))


def frame_rms_dbfs(y: np.ndarray, sr: int) -> np.ndarray:
    """RMS level per 32 ms frame (10 ms hop) in dBFS."""
    n, hop = frame_lengths(sr)
    frames = frame_signal(np.asarray(y, dtype=np.float32), n, hop)
    power = [np.mean(np.square(frames[i: i + BLOCK_FRAMES], dtype=np.float64), axis=1)
             for i in range(0, len(frames), BLOCK_FRAMES)]
    return _db(np.concatenate(power))


def silent_frames(level_dbfs: np.ndarray) -> np.ndarray:
    """Boolean mask of silent frames from per-frame levels in dBFS."""
    if len(level_dbfs) == 0:
        return np.zeros(0, bool)
    loud = np.percentile(level_dbfs, 99)
    return level_dbfs < max(SILENCE_FLOOR_DBFS, loud - SILENCE_RELATIVE_DB)


def silence_fraction(y: np.ndarray, sr: int) -> float:
    """Fraction of 32 ms frames that are silent (below -60 dBFS or 45 dB under the loud frames)."""
    mask = silent_frames(frame_rms_dbfs(y, sr))
    return float(mask.mean()) if len(mask) else 1.0


def _flatness(power: np.ndarray) -> np.ndarray:
    p = np.maximum(power.astype(np.float64), EPS)
    return np.exp(np.mean(np.log(p), axis=1)) / np.mean(p, axis=1)


@dataclass(frozen=True)
class _Spectrum:
    """What the spectral metrics need, gathered block by block (bounded memory)."""

    band_power: np.ndarray  # summed power per bin over all frames
    freqs_hz: np.ndarray
    flatness: np.ndarray  # per non-silent frame


def _spectrum(y: np.ndarray, sr: int, silent: np.ndarray | None = None) -> _Spectrum:
    if silent is None:
        silent = silent_frames(frame_rms_dbfs(y, sr))
    n = frame_lengths(sr)[0]
    band = np.zeros(n // 2 + 1)
    flatness, start = [], 0
    for power in iter_power_blocks(y, sr):
        band += power.sum(axis=0, dtype=np.float64)
        active = ~silent[start: start + len(power)]
        flatness.append(_flatness(power[active] if active.any() else power[:0]))
        start += len(power)
    flat = np.concatenate(flatness)
    if len(flat) == 0:  # everything silent: judge all frames
        flat = np.concatenate([_flatness(p) for p in iter_power_blocks(y, sr)])
    return _Spectrum(band, np.fft.rfftfreq(n, 1.0 / sr), flat)


def _centroid_hz(s: _Spectrum) -> float:
    total = s.band_power.sum()
    return float(s.band_power @ s.freqs_hz / total) if total > 0 else 0.0


def _hf_ratio(s: _Spectrum, split_hz: float) -> float:
    total = s.band_power.sum()
    return float(s.band_power[s.freqs_hz >= split_hz].sum() / total) if total > 0 else 0.0


def _peak_concentration(s: _Spectrum, half_width: int = 3) -> float:
    mean = s.band_power.copy()
    mean[0] = 0.0
    total = mean.sum()
    if total <= 0:
        return 0.0
    k = int(np.argmax(mean))
    return float(mean[max(0, k - half_width): k + half_width + 1].sum() / total)


def _dominant_hz(s: _Spectrum) -> float:
    power = s.band_power.copy()
    power[0] = 0.0
    k = int(np.argmax(power))
    if power[k] <= 0:
        return 0.0
    if 0 < k < len(power) - 1:  # parabolic interpolation on log power
        a, b, c = np.log(np.maximum(power[k - 1: k + 2], EPS))
        den = a - 2 * b + c
        shift = 0.5 * (a - c) / den if den < 0 else 0.0
        return float(s.freqs_hz[k] + shift * (s.freqs_hz[1] - s.freqs_hz[0]))
    return float(s.freqs_hz[k])


def _median_flatness(s: _Spectrum) -> float:
    return float(np.median(s.flatness)) if len(s.flatness) else 0.0


def spectral_flatness(y: np.ndarray, sr: int) -> float:
    """Median Wiener entropy (geometric / arithmetic mean of power) over non-silent frames.

    0..1: a tone is ~0, speech ~0.01-0.1, white noise ~0.56 for a single periodogram.
    """
    return _median_flatness(_spectrum(y, sr))


def spectral_centroid_hz(y: np.ndarray, sr: int) -> float:
    """Power-weighted mean frequency over the whole clip, in Hz."""
    return _centroid_hz(_spectrum(y, sr))


def high_frequency_ratio(y: np.ndarray, sr: int, split_hz: float = HF_SPLIT_HZ) -> float:
    """Share of spectral power above ``split_hz`` Hz (0..1); speech is under ~0.2 at 4 kHz."""
    return _hf_ratio(_spectrum(y, sr), split_hz)


def dominant_frequency_hz(y: np.ndarray, sr: int) -> float:
    """Frequency of the strongest bin of the long-term spectrum, in Hz (a tone's frequency)."""
    return _dominant_hz(_spectrum(y, sr))


def peak_concentration(y: np.ndarray, sr: int) -> float:
    """Share of the long-term power within ±3 bins of its strongest bin (a pure tone ~1)."""
    return _peak_concentration(_spectrum(y, sr))


def syllabic_modulation(y: np.ndarray, sr: int) -> float:
    """Share of the loudness envelope's fluctuation power at 2-8 Hz (syllable rate), 0..1.

    The envelope is the frame RMS in dB at a 10 ms hop. Speech concentrates its envelope
    fluctuations at 2-8 Hz; stationary noise spreads them evenly (~0.12), a steady tone has none.
    """
    level = np.maximum(frame_rms_dbfs(y, sr), SILENCE_FLOOR_DBFS - 20)
    if len(level) < 50:
        return 0.0
    env = level - level.mean()
    spec = np.abs(np.fft.rfft(env * np.hanning(len(env)))) ** 2
    freqs = np.fft.rfftfreq(len(env), 0.010)
    band = (freqs >= 0.5) & (freqs <= 50.0)
    total = spec[band].sum()
    if total <= EPS:
        return 0.0
    return float(spec[(freqs >= 2.0) & (freqs <= 8.0)].sum() / total)


@dataclass(frozen=True)
class PitchSummary:
    """Pitch statistics over non-silent frames.

    voiced_fraction : share of non-silent frames that are periodic (0..1).
    f0_min_hz, f0_median_hz, f0_max_hz : 5th / 50th / 95th percentile of voiced f0 in Hz
    (NaN when nothing is voiced).
    f0_spread_semitones : inter-quartile range of voiced f0 in semitones (a steady tone ~0).
    harmonicity : median of ``1 - aperiodicity`` over non-silent frames (0 noise .. 1 periodic).
    """

    voiced_fraction: float
    f0_min_hz: float
    f0_median_hz: float
    f0_max_hz: float
    f0_spread_semitones: float
    harmonicity: float


def summarize_pitch(track: PitchTrack, active: np.ndarray) -> PitchSummary:
    """Summarise a :class:`PitchTrack` over the frames where ``active`` is true."""
    n = min(len(track.f0_hz), len(active))
    act = active[:n]
    f0 = track.f0_hz[:n][act]
    aper = track.aperiodicity[:n][act]
    if len(f0) == 0:
        nan = float("nan")
        return PitchSummary(0.0, nan, nan, nan, nan, 0.0)
    voiced = f0[~np.isnan(f0)]
    harmonicity = float(np.median(np.clip(1.0 - aper, 0.0, 1.0)))
    if len(voiced) == 0:
        nan = float("nan")
        return PitchSummary(0.0, nan, nan, nan, nan, harmonicity)
    lo, med, hi = np.percentile(voiced, [5, 50, 95])
    q1, q3 = np.percentile(voiced, [25, 75])
    return PitchSummary(
        voiced_fraction=float(len(voiced) / len(f0)), f0_min_hz=float(lo),
        f0_median_hz=float(med), f0_max_hz=float(hi),
        f0_spread_semitones=float(12.0 * np.log2(q3 / q1)), harmonicity=harmonicity)


def pitch_summary(y: np.ndarray, sr: int) -> PitchSummary:
    """Voiced fraction, f0 range and harmonicity of ``y`` (YIN at 16 kHz, 10 ms hop)."""
    x = np.asarray(y, dtype=np.float32) - np.float32(dc_offset(y))
    return summarize_pitch(yin(x, sr), ~silent_frames(frame_rms_dbfs(x, sr)))


@dataclass(frozen=True)
class AudioMetrics:
    """Every metric of one clip; see the module functions for the definitions and units."""

    duration_s: float
    sample_rate_hz: int
    peak: float
    peak_dbfs: float
    rms_dbfs: float
    dc_offset: float
    crest_factor_db: float
    clipped_fraction: float
    flat_top_fraction: float
    zero_crossing_rate_hz: float
    silence_fraction: float
    spectral_flatness: float
    spectral_centroid_hz: float
    high_frequency_ratio: float
    dominant_frequency_hz: float
    peak_concentration: float
    syllabic_modulation: float
    voiced_fraction: float
    f0_min_hz: float
    f0_median_hz: float
    f0_max_hz: float
    f0_spread_semitones: float
    harmonicity: float

    def to_dict(self) -> dict:
        return asdict(self)


def describe(y: np.ndarray, sr: int) -> AudioMetrics:
    """All metrics of a mono clip, sharing one spectrogram and one pitch track.

    Level metrics (peak, clipping, DC) use ``y`` as given; spectral and pitch metrics use
    ``y`` with its DC offset removed.
    """
    y = np.asarray(y, dtype=np.float32)
    level = {"duration_s": duration_s(y, sr), "sample_rate_hz": int(sr), "peak": peak(y),
             "peak_dbfs": dbfs(peak(y)), "rms_dbfs": dbfs(rms(y)), "dc_offset": dc_offset(y),
             "crest_factor_db": crest_factor_db(y - dc_offset(y)),
             "clipped_fraction": clipped_fraction(y), "flat_top_fraction": flat_top_fraction(y)}
    x = y - np.float32(level["dc_offset"])
    silent = silent_frames(frame_rms_dbfs(x, sr))
    spectrum = _spectrum(x, sr, silent)
    pitch = summarize_pitch(yin(x, sr), ~silent)
    return AudioMetrics(
        **level,
        zero_crossing_rate_hz=zero_crossing_rate_hz(x, sr),
        silence_fraction=float(silent.mean()) if len(silent) else 1.0,
        spectral_flatness=_median_flatness(spectrum),
        spectral_centroid_hz=_centroid_hz(spectrum),
        high_frequency_ratio=_hf_ratio(spectrum, HF_SPLIT_HZ),
        dominant_frequency_hz=_dominant_hz(spectrum),
        peak_concentration=_peak_concentration(spectrum),
        syllabic_modulation=syllabic_modulation(x, sr),
        **asdict(pitch))
