"""The score on real speech: clean above clipped above noise, and what --ref adds."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
import soundfile as sf

from audioparity.audio import classify, compare_audio, describe
from audioparity.sweep.score import band, quality_factors, score, similarity_terms


@pytest.fixture(scope="module")
def speech(clean_wav):
    y, sr = sf.read(clean_wav, dtype="float32")
    return y, sr


def _score(y, sr, ref=None):
    m = describe(y, sr)
    v = classify(m)
    return score(v.verdict, v.content, m,
                 compare_audio(ref, sr, y, sr).scores if ref is not None else None)


def test_clean_speech_has_every_factor_at_one(speech):
    factors = quality_factors(describe(*speech))
    assert factors == {"clipping": 1.0, "noise": 1.0, "hf": 1.0, "dc": 1.0, "silence": 1.0}
    s = _score(*speech)
    assert s.band == "good" and s.value == pytest.approx(100.0, abs=1e-6)


def test_clean_beats_clipped_beats_noise(speech):
    y, sr = speech
    clipped = np.clip(7 * y, -1, 1)  # seed 004: CFG 7
    noise = 0.3 * np.random.default_rng(1).standard_normal(len(y)).astype(np.float32)
    clean, hard, static = _score(y, sr), _score(clipped, sr), _score(noise, sr)
    assert (clean.band, hard.band, static.band) == ("good", "clipped", "bad")
    assert clean.value > hard.value > static.value
    assert 0.6 < hard.factors["clipping"] < 0.7  # 7 % clipped on the 0 → 20 % ramp
    assert static.factors["noise"] < 0.2


def test_more_clipping_scores_lower_within_the_band(speech):
    y, sr = speech
    scores = [_score(np.clip(g * y, -1, 1), sr) for g in (3, 7, 15)]
    assert all(s.band == "clipped" for s in scores)
    assert scores[0].value > scores[1].value > scores[2].value


def test_reference_similarity(speech):
    y, sr = speech
    same = _score(y, sr, ref=y)
    # the similarity terms are computed floats (STOI, MR-STFT): 1 up to the last bits
    assert same.similarity == pytest.approx(1.0, abs=1e-9)
    assert same.value == pytest.approx(100.0, abs=1e-6)
    noisy = y + 0.05 * np.random.default_rng(2).standard_normal(len(y)).astype(np.float32)
    worse = _score(noisy, sr, ref=y)
    assert worse.similarity < 0.8 and worse.value < same.value
    assert set(worse.similarity_terms) >= {"snr_db_gain_corrected", "mrstft_distance"}


def test_unmeasurable_terms_are_left_out():
    assert similarity_terms({"snr_db_gain_corrected": float("nan"), "stoi": 0.75,
                             "pesq_wb": None}) == {"stoi": 0.5}


def test_bands_follow_the_verdict():
    assert band("speech", "speech") == band("music_or_tonal", "music_or_tonal") == "good"
    assert band("clipped", "speech") == "clipped"
    assert band("clipped", "noise") == band("noise", "noise") == band("silence", "silence") \
        == band("tone", "tone") == "bad"


def test_with_a_reference_similarity_outranks_the_verdict(speech, generator, tmp_path):
    """Clean speech of another sentence (SNR near 0 dB against the reference) must rank
    below a clipped take of the reference's sentence at 23 dB, although its verdict band
    (speech) is better than clipped."""
    y, sr = speech
    other = tmp_path / "other.wav"
    subprocess.run([*generator, "--text", "A rainbow appears after the storm has passed.",
                    "--out", str(other)], check=True, capture_output=True, timeout=60)
    unrelated, _ = sf.read(other, dtype="float32")
    clipped = np.clip(2.3 * y, -1, 1)
    wrong, right = _score(unrelated, sr, ref=y), _score(clipped, sr, ref=y)
    snr = {name: compare_audio(y, sr, x, sr).scores["snr_db_gain_corrected"]
           for name, x in (("wrong", unrelated), ("right", clipped))}
    assert snr["wrong"] < 1.0 and snr["right"] > 20.0
    assert (wrong.band, right.band) == ("good", "clipped")
    assert wrong.audio_score > right.audio_score  # without --ref the verdict would win
    assert right.value > wrong.value + 30
    assert right.similarity > 0.8 and wrong.similarity < 0.2
