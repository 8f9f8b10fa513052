"""``assert_audio_ok`` on real espeak-ng speech and noise; ``assert_tokens_ok`` on a real
transformers Qwen3 greedy generation and the offset a port adds to it."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from audioparity.testing import assert_audio_ok, assert_tokens_ok


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    wav = tmp_path_factory.mktemp("speech") / "speech.wav"
    text = "The port speaks this sentence clearly, word by word, without any noise."
    subprocess.run(["espeak-ng", "-w", str(wav), text], check=True, capture_output=True,
                   timeout=60)
    return wav


@pytest.mark.slow
def test_speech_file_passes_and_returns_the_verdict(speech_wav):
    verdict = assert_audio_ok(speech_wav, expect="speech")
    assert verdict.verdict == "speech"


@pytest.mark.slow
def test_speech_array_passes_with_its_rate_and_duration(speech_wav):
    y, sr = sf.read(speech_wav, dtype="float32")
    seconds = len(y) / sr
    assert assert_audio_ok(y, sr, duration_s=(seconds - 0.1, seconds + 0.1)).ok
    with pytest.raises(AssertionError, match=r"duration .* outside 0-1 s"):
        assert_audio_ok(y, sr, duration_s=(0, 1))


@pytest.mark.slow
def test_noise_where_speech_was_expected_fails_with_the_reasons(speech_wav):
    """A port whose vocoder emits noise of the speech's level ("FM radio searching")."""
    y, sr = sf.read(speech_wav, dtype="float32")
    noise = np.random.default_rng(0).standard_normal(y.size).astype(np.float32)
    noise *= np.std(y) / np.std(noise)
    with pytest.raises(AssertionError) as info:
        assert_audio_ok(noise, sr)
    lines = str(info.value).splitlines()
    assert lines[0].startswith("audio is noise, expected speech (array [")
    assert any("voiced frames" in line for line in lines[1:])


@pytest.mark.slow
def test_clipped_speech_fails_and_any_accepts_plausible_audio(speech_wav):
    y, sr = sf.read(speech_wav, dtype="float32")
    hot = np.clip(y / np.max(np.abs(y)) * 4, -1, 1)  # a missing 1/n_fft, then a WAV writer
    with pytest.raises(AssertionError, match=r"audio is clipped, expected speech"):
        assert_audio_ok(hot, sr)
    with pytest.raises(AssertionError, match="audio is clipped, expected music_or_tonal or "
                                             "speech"):
        assert_audio_ok(hot, sr, expect="any")
    assert assert_audio_ok(hot, sr, expect=["clipped"]).content == "speech"


def test_an_array_needs_its_sample_rate_and_expect_a_known_verdict():
    with pytest.raises(ValueError, match="needs sr"):
        assert_audio_ok(np.zeros(16000, np.float32))
    with pytest.raises(ValueError, match="expect must be"):
        assert_audio_ok(np.zeros(16000, np.float32), 16000, expect="speach")


@pytest.fixture(scope="module")
def greedy():
    """Greedy ids of the demo's tiny random transformers Qwen3 (vocabulary ``vocab``)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from audioparity.examples.reference import build_lm, demo_input_ids

    lm = build_lm()
    prompt = demo_input_ids(length=8)
    with torch.no_grad():
        ids = lm.generate(prompt, max_new_tokens=24, do_sample=False, min_new_tokens=24)
    return ids[:, prompt.shape[1]:].numpy(), lm.config.vocab_size


@pytest.mark.slow
def test_a_faithful_generation_passes_against_the_reference(greedy):
    ids, vocab = greedy
    result = assert_tokens_ok(ids, codebook_size=vocab, ref=ids.copy())
    assert result.ok and result.tokens.frames == 24


@pytest.mark.slow
def test_ids_shifted_by_a_vocabulary_offset_fail_naming_the_offset(greedy):
    """A port that adds the text vocabulary to audio ids (flat-vocabulary offset)."""
    ids, vocab = greedy
    with pytest.raises(AssertionError) as info:
        assert_tokens_ok(ids + vocab, codebook_size=vocab, ref=ids)
    message = str(info.value)
    assert message.splitlines()[0].endswith(f"codebook size {vocab})")
    assert "(offset)" in message and "fix:" in message


@pytest.mark.slow
def test_a_generation_that_never_emits_eos_fails(greedy):
    ids, vocab = greedy
    absent = next(i for i in range(vocab) if i not in set(ids.ravel().tolist()))
    with pytest.raises(AssertionError, match="eos"):
        assert_tokens_ok(ids, codebook_size=vocab, eos=absent)


def test_token_ids_must_be_whole_numbers():
    with pytest.raises(ValueError, match="whole numbers"):
        assert_tokens_ok(np.array([1.0, 2.5, 3.0]), codebook_size=8)
