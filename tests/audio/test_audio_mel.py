"""check_mel: a real log-mel in any common scale vs the noise an unloaded decoder emits."""

from __future__ import annotations

import numpy as np
import pytest

from audioparity.audio import check_mel
from audioparity.audio.spectral import log_mel_spectrogram


@pytest.fixture(scope="module")
def log_mel(speech_24k) -> np.ndarray:
    return log_mel_spectrogram(*speech_24k)


@pytest.mark.parametrize("scale,transform", [
    ("ln", lambda m: m),
    ("log10", lambda m: m / np.log(10)),
    ("dB", lambda m: 20 * m / np.log(10)),
    ("normalised", lambda m: (m - m.mean()) / m.std()),
])
def test_real_log_mel_in_any_scale_is_a_log_mel(log_mel, scale, transform):
    report = check_mel(transform(log_mel))
    assert report.verdict == "log_mel" and report.ok
    assert report.scale_guess == scale
    assert report.time_correlation > 0.7 and report.freq_correlation > 0.7


def test_orientation_and_batch_axis_are_found(log_mel):
    report = check_mel(log_mel.T[None])
    assert report.mel_axis == 2 and report.n_mels == 80
    assert report.verdict == "log_mel"


def test_seed_002_decoder_output_is_noise_like():
    # seed 002: 53 % positive, range [-3.81, 4.18], zero-mean high variance, flat response
    rng = np.random.default_rng(0)
    mel = np.clip(1.3 * rng.standard_normal((1, 80, 400)), -3.81, 4.18).astype(np.float32)
    report = check_mel(mel)
    assert report.verdict == "noise_like" and not report.ok
    assert 0.45 < report.positive_fraction < 0.6
    assert report.band_profile_spread < 0.15
    assert any("flat frequency response" in r for r in report.reasons)


def test_decoder_at_init_emits_noise_like_mel():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    decoder = torch.nn.Sequential(
        torch.nn.Conv1d(80, 256, 3, padding=1), torch.nn.GELU(),
        torch.nn.Conv1d(256, 256, 3, padding=1), torch.nn.GELU(),
        torch.nn.Conv1d(256, 80, 1))
    with torch.no_grad():
        mel = decoder(torch.randn(1, 80, 300)).numpy()
    assert check_mel(mel).verdict == "noise_like"


def test_linear_mel_is_named(log_mel):
    report = check_mel(np.exp(log_mel))
    assert report.verdict == "linear_mel" and report.scale_guess == "linear"


def test_constant_and_nan():
    assert check_mel(np.full((80, 50), -11.5)).verdict == "constant"
    bad = np.zeros((80, 50))
    bad[3, 4] = np.nan
    assert check_mel(bad).verdict == "invalid"


def test_not_two_dimensional_is_an_error():
    with pytest.raises(ValueError, match="2-D"):
        check_mel(np.zeros((2, 80, 50)))
