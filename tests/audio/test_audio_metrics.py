"""Audio metrics on signals whose answers are known, and on the seed numbers."""

from __future__ import annotations

import numpy as np
import pytest

from audioparity.audio import metrics as am
from audioparity.audio.pitch import yin


def _sine(f_hz: float, sr: int, seconds: float = 1.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * f_hz * t)).astype(np.float32)


def test_levels_of_a_sine():
    y = _sine(440, 16000)
    assert am.peak(y) == pytest.approx(0.5, rel=1e-3)
    assert am.dbfs(am.rms(y)) == pytest.approx(-9.03, abs=0.02)
    assert am.crest_factor_db(y) == pytest.approx(3.01, abs=0.02)
    assert am.zero_crossing_rate_hz(y, 16000) == pytest.approx(880, rel=0.01)
    assert am.duration_s(y, 16000) == 1.0  # exact: 16000 samples / 16000 Hz


def test_dc_offset_and_silence_fraction():
    y = np.concatenate([_sine(200, 8000), np.zeros(8000, np.float32)]) + 0.1
    assert am.dc_offset(y) == pytest.approx(0.1, abs=1e-6)
    assert am.silence_fraction(y - 0.1, 8000) == pytest.approx(0.5, abs=0.05)


def test_clipped_fraction_reproduces_seed_004():
    # seed 004: audio std 0.55 with CFG 7 -> 7.05 % of values clipped to [-1, 1]
    y = np.random.default_rng(0).normal(0, 0.55, 200_000).astype(np.float32)
    assert am.clipped_fraction(y) == pytest.approx(0.069, abs=0.005)


def test_flat_top_catches_a_clamp_below_full_scale():
    y = np.clip(_sine(200, 16000, amp=1.0), -0.8, 0.8)
    assert am.clipped_fraction(y) == 0.0  # exact: a count of zero
    assert am.flat_top_fraction(y) > 0.2
    assert am.flat_top_fraction(_sine(200, 16000)) == 0.0  # exact: a count of zero


def test_high_frequency_ratio_of_white_noise_matches_seed_002():
    # seed 002: broken vocoder output had 82.4 % of its energy at high frequency
    y = np.random.default_rng(1).standard_normal(44100).astype(np.float32)
    assert am.high_frequency_ratio(y, 44100) == pytest.approx(1 - 4000 / 22050, abs=0.01)


def test_speech_is_low_frequency_and_not_flat(speech_24k):
    y, sr = speech_24k
    assert am.high_frequency_ratio(y, sr) < 0.2
    assert am.spectral_flatness(y, sr) < 0.05
    noise = np.random.default_rng(2).standard_normal(sr).astype(np.float32)
    assert am.spectral_flatness(noise, sr) > 0.4
    assert 200 < am.spectral_centroid_hz(y, sr) < 2000


@pytest.mark.parametrize("f0", [82.0, 147.0, 220.0, 440.0])
def test_yin_finds_the_pitch_of_a_harmonic_tone(f0):
    sr = 22050
    t = np.arange(sr) / sr
    y = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6)).astype(np.float32)
    track = yin(y, sr)
    assert track.voiced.mean() > 0.95
    assert np.nanmedian(track.f0_hz) == pytest.approx(f0, rel=0.01)


def test_pitch_summary_of_speech_is_in_the_voice_range(speech_24k):
    p = am.pitch_summary(*speech_24k)
    assert 0.2 < p.voiced_fraction < 0.9
    assert 70 < p.f0_median_hz < 200 and p.f0_spread_semitones > 0.5
    assert 0.5 < p.harmonicity < 0.95


def test_describe_gathers_everything(speech_24k):
    m = am.describe(*speech_24k).to_dict()
    assert m["sample_rate_hz"] == 24000 and m["peak"] == pytest.approx(0.5, rel=1e-3)
    assert all(isinstance(v, (int, float)) for v in m.values())
