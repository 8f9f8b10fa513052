"""compare_audio on espeak-ng speech with injected port bugs: lag, gain, sign, rate, ..."""

from __future__ import annotations

import numpy as np
import pytest

from audioparity.audio import compare_audio
from audioparity.audio.align import nearest_constant, padding_hints
from audioparity.audio.spectral import resample


def _delay(y: np.ndarray, lag: int) -> np.ndarray:
    if lag >= 0:
        return np.concatenate([np.zeros(lag, np.float32), y])
    return y[-lag:].copy()


def _causes(result) -> list[str]:
    return [c["cause"] for c in result.causes]


def test_identical_audio_matches(speech_24k):
    y, sr = speech_24k
    result = compare_audio(y, sr, y.copy(), sr)
    assert result.status == "parity" and result.causes == []
    assert result.scores["snr_db"] == float("inf")
    assert result.scores["pesq_wb"] == pytest.approx(4.64, abs=0.01)
    assert result.scores["stoi"] == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("lag", [-300, -37, 1, 256, 768, 1024])
def test_lag_is_recovered_to_the_sample(speech_24k, lag):
    y, sr = speech_24k
    result = compare_audio(y, sr, _delay(y, lag), sr, quality=False)
    assert abs(result.lag_samples - lag) <= 1
    assert result.lag_ms == pytest.approx(1000 * lag / sr, abs=0.05)
    assert _causes(result) == ["shift"]
    assert result.causes[0]["params"]["k"] == result.lag_samples


@pytest.mark.parametrize("gain", [1 / 2048, 0.3, 0.97, 1.7])
def test_gain_is_recovered_within_one_percent(speech_24k, gain):
    y, sr = speech_24k
    result = compare_audio(y, sr, (gain * y).astype(np.float32), sr, quality=False)
    assert result.gain == pytest.approx(gain, rel=0.01)
    assert result.polarity == 1
    assert _causes(result) == ["scale"]


def test_istft_one_over_n_fft_is_named(speech_24k):
    y, sr = speech_24k
    result = compare_audio(y, sr, y / 2048, sr, quality=False)
    assert "1/n_fft, n_fft=2048" in result.causes[0]["detail"]


def test_polarity_inversion_is_sign(speech_24k):
    y, sr = speech_24k
    result = compare_audio(y, sr, -y, sr, quality=False)
    assert result.polarity == -1 and _causes(result) == ["sign"]
    assert result.scores["snr_db_gain_corrected"] > 60


def test_shift_sign_and_scale_together(speech_24k):
    y, sr = speech_24k
    port = -0.25 * _delay(y, 256)
    result = compare_audio(y, sr, port.astype(np.float32), sr, quality=False)
    assert _causes(result) == ["shift", "sign", "scale"]
    assert result.lag_samples == 256 and result.gain == pytest.approx(0.25, rel=0.01)


def test_reversed_audio_is_named(speech_24k):
    y, sr = speech_24k
    result = compare_audio(y, sr, y[::-1].copy(), sr, quality=False)
    assert result.reversed and _causes(result) == ["reversed"]


def test_port_that_wrote_22050_hz_audio_at_24000_hz(speech_24k):
    y, sr = speech_24k
    content = resample(y, sr, 22050)  # the port's vocoder runs at 22.05 kHz ...
    result = compare_audio(y, sr, content, 24000, quality=False)  # ... its header says 24 kHz
    assert result.duration_ratio == pytest.approx(22050 / 24000, rel=0.01)
    assert _causes(result) == ["sample_rate"]
    assert result.rate_fix == {"written_hz": 24000, "content_hz": 22050}
    assert abs(result.lag_samples) <= 1 and result.scores["snr_db"] > 20


def test_correct_resampled_port_is_not_a_rate_mistake(speech_24k):
    y, sr = speech_24k
    result = compare_audio(y, sr, resample(y, sr, 16000), 16000, quality=False)
    assert result.causes == [] and result.rate_fix is None
    assert any("16000 Hz" in f for f in result.findings)


def test_clipping_port(speech_24k):
    y, sr = speech_24k
    port = np.clip(4 * y, -1, 1)
    result = compare_audio(y, sr, port, sr, quality=False)
    assert "clipping" in _causes(result)


def test_noise_port_is_unknown(speech_24k):
    y, sr = speech_24k
    noise = (0.1 * np.random.default_rng(0).standard_normal(len(y))).astype(np.float32)
    result = compare_audio(y, sr, noise, sr)
    assert _causes(result) == ["unknown"]
    assert result.scores["log_spectral_distance_db"] > 10
    assert result.scores["stoi"] < 0.6


def test_distances_grow_with_damage(speech_24k):
    y, sr = speech_24k
    rng = np.random.default_rng(3)
    small = compare_audio(y, sr, y + 0.001 * rng.standard_normal(len(y)).astype(np.float32),
                          sr, quality=False).scores
    large = compare_audio(y, sr, y + 0.05 * rng.standard_normal(len(y)).astype(np.float32),
                          sr, quality=False).scores
    for key in ("log_spectral_distance_db", "mrstft_distance", "mel_cepstral_distortion_db"):
        assert 0 < small[key] < large[key], key
    assert small["snr_db"] > large["snr_db"] + 20


def test_padding_hint_for_seed_000():
    hints = " ".join(padding_hints(256))
    assert "win/2 vs (win-hop)/2 (win=2048, hop=512)" in hints


def test_known_constants():
    assert nearest_constant(1 / 1024).startswith("1/1024")
    assert nearest_constant(32768.0).startswith("32768")
    assert nearest_constant(0.37) is None


def test_port_without_eos_is_too_long(speech_24k):
    # seed 000: no EOS, 8.13 s of audio where the reference had 1.34 s
    y, sr = speech_24k
    tail = 0.05 * np.random.default_rng(4).standard_normal(5 * len(y)).astype(np.float32)
    result = compare_audio(y, sr, np.concatenate([y, tail]), sr, quality=False)
    assert result.duration_mismatch and result.status == "divergent"
    assert result.duration_ratio == pytest.approx(6.0, rel=0.01)
    assert any("no EOS" in f for f in result.findings)
