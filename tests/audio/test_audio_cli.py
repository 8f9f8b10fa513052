"""``audioparity audio inspect|compare|mel`` end to end, including bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from matplotlib.image import imread

from audioparity.audio.io import load_audio
from audioparity.audio.spectral import log_mel_spectrogram


@pytest.fixture
def speech_wav(tmp_path, speech_24k):
    path = tmp_path / "speech.wav"
    sf.write(path, *speech_24k, subtype="PCM_16")
    return path


@pytest.fixture
def noise_wav(tmp_path):
    path = tmp_path / "noise.wav"
    sf.write(path, 0.1 * np.random.default_rng(0).standard_normal(32000), 16000)
    return path


def _assert_png(path):
    image = imread(path)
    assert image.ndim == 3 and image.shape[0] > 300 and image.shape[1] > 500
    assert image[..., :3].std() > 0.05  # not a blank canvas


def test_inspect_speech_exits_0_with_one_row(cli, speech_wav, tmp_path):
    out_json = tmp_path / "r.json"
    code, out, err = cli("audio", "inspect", speech_wav, "--json", out_json, "--no-vad")
    assert code == 0, err
    assert "speech.wav" in out and "speech" in out
    data = json.loads(out_json.read_text())
    (row,) = data["files"]
    assert data["status"] == "ok" and row["status"] == "ok"
    assert row["verdict"] == "speech" and row["sample_rate_hz"] == 24000
    assert row["channels"] == 1 and row["vad"]["used"] is False


def test_inspect_many_files_and_pngs(cli, speech_wav, noise_wav, tmp_path):
    figs = tmp_path / "figs"
    code, out, err = cli("audio", "inspect", speech_wav, noise_wav, "--png", figs,
                         "--json", "-")
    assert code == 1, err  # noise is a problem
    data = json.loads(out)  # --json - prints JSON only
    assert [f["verdict"] for f in data["files"]] == ["speech", "noise"]
    assert data["status"] == "problem"
    assert [f["status"] for f in data["files"]] == ["ok", "problem"]
    assert data["files"][0]["vad"]["used"] is True
    for name in ("speech.png", "noise.png"):
        _assert_png(figs / name)


def test_inspect_multichannel_float_flac(cli, speech_24k, tmp_path):
    y, sr = speech_24k
    path = tmp_path / "eight.flac"
    sf.write(path, np.tile(y[:, None], (1, 8)), sr, subtype="PCM_24")
    code, out, err = cli("audio", "inspect", path, "--json", tmp_path / "r.json", "--no-vad")
    assert code == 0, err
    row = json.loads((tmp_path / "r.json").read_text())["files"][0]
    assert row["channels"] == 8 and row["mono_mix"] and row["format"] == "FLAC"
    assert "8 channels mixed to mono" in out


def test_inspect_nan_samples_is_invalid(cli, tmp_path):
    y = np.zeros(16000, np.float32)
    y[100:110] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, y, 16000, subtype="FLOAT")
    code, out, _ = cli("audio", "inspect", path, "--no-vad")
    assert code == 1 and "invalid" in out and "10 NaN/Inf" in out


def test_inspect_empty_audio_is_empty(cli, tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros(0, np.float32), 16000)
    code, out, _ = cli("audio", "inspect", path)
    assert code == 1 and "empty" in out


@pytest.mark.parametrize("make,problem", [
    (lambda p: p.write_text("this is not audio\n"), "not readable as audio"),
    (lambda p: p.write_bytes(b""), "empty file"),
    (lambda p: p.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt "), "not readable as audio"),
    (lambda p: sf.write(p, np.zeros(100), 1), "sample rate 1 Hz"),
], ids=["text", "zero-bytes", "truncated-header", "1-Hz"])
def test_inspect_unreadable_input_exits_2_with_one_line(cli, tmp_path, make, problem):
    path = tmp_path / "bad.wav"
    make(path)
    before = path.read_bytes()
    code, _, err = cli("audio", "inspect", path)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and problem in err and "bad.wav" in err
    assert path.read_bytes() == before


def test_missing_file_exits_2(cli, tmp_path):
    code, _, err = cli("audio", "compare", tmp_path / "a.wav", tmp_path / "b.wav")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "no such file" in err


def test_long_file_is_read_in_excerpts(tmp_path):
    # 4 minutes at 8 kHz on disk; analysed as 6 x 10 s excerpts, never loaded whole
    path = tmp_path / "long.wav"
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", 8000, 1, subtype="PCM_16") as f:
        for _ in range(24):
            f.write(0.1 * rng.standard_normal(80000))
    clip = load_audio(path, max_analysed_s=60)
    assert clip.duration_s == 240 and clip.excerpts == 6
    assert len(clip.y) == 60 * 8000
    assert "6 excerpts" in clip.notes[0]
    head = load_audio(path, max_analysed_s=30, excerpts=False)
    assert len(head.y) == 30 * 8000


def test_compare_names_shift_and_writes_figure(cli, speech_24k, tmp_path):
    y, sr = speech_24k
    ref, port = tmp_path / "ref.wav", tmp_path / "port.wav"
    sf.write(ref, y, sr, subtype="FLOAT")
    sf.write(port, np.concatenate([np.zeros(256, np.float32), y]), sr, subtype="FLOAT")
    code, out, err = cli("audio", "compare", ref, port, "--png", tmp_path / "c.png",
                         "--json", tmp_path / "c.json", "--no-quality")
    assert code == 1, err
    data = json.loads((tmp_path / "c.json").read_text())
    assert data["status"] == "divergent" and data["lag_samples"] == 256
    assert [c["cause"] for c in data["causes"]] == ["shift"]
    assert "+256 samples" in out
    _assert_png(tmp_path / "c.png")


def test_compare_identical_exits_0(cli, speech_wav):
    code, out, err = cli("audio", "compare", speech_wav, speech_wav)
    assert code == 0, err
    assert "parity" in out and "pesq_wb" in out


def test_compare_rate_mistake(cli, speech_24k, tmp_path):
    from audioparity.audio.spectral import resample

    y, sr = speech_24k
    ref, port = tmp_path / "ref.wav", tmp_path / "port.wav"
    sf.write(ref, y, sr)
    sf.write(port, resample(y, sr, 22050), 24000)
    code, out, _ = cli("audio", "compare", ref, port, "--json", "-", "--no-quality")
    assert code == 1
    data = json.loads(out)  # --json - prints JSON only
    assert data["sample_rate_fix"] == {"written_hz": 24000, "content_hz": 22050}


def test_compare_nan_port_is_nonfinite(cli, speech_24k, tmp_path):
    y, sr = speech_24k
    ref, port = tmp_path / "ref.wav", tmp_path / "port.wav"
    sf.write(ref, y, sr, subtype="FLOAT")
    bad = y.copy()
    bad[1000:1010] = np.inf
    sf.write(port, bad, sr, subtype="FLOAT")
    code, out, _ = cli("audio", "compare", ref, port, "--no-quality")
    assert code == 1 and "nonfinite" in out


def test_mel_command(cli, speech_24k, tmp_path):
    good, noise = tmp_path / "good.npy", tmp_path / "noise.npy"
    np.save(good, log_mel_spectrogram(*speech_24k)[None])
    np.save(noise, np.random.default_rng(0).standard_normal((1, 80, 300)).astype(np.float32))
    code, out, err = cli("audio", "mel", good, "--json", tmp_path / "m.json")
    assert code == 0, err
    data = json.loads((tmp_path / "m.json").read_text())
    assert data["verdict"] == "log_mel" and data["status"] == "ok"
    code, out, _ = cli("audio", "mel", noise)
    assert code == 1 and "noise_like" in out


def test_mel_from_a_trace(cli, speech_24k, tmp_path):
    from audioparity.trace import write_trace

    path = tmp_path / "trace.safetensors"
    write_trace(path, {"decoder.out": log_mel_spectrogram(*speech_24k)}, {})
    code, _, err = cli("audio", "mel", path, "--name", "decoder.out")
    assert code == 0, err
    code, _, err = cli("audio", "mel", path, "--name", "nope")
    assert code == 2 and "no tensor named 'nope'" in err


@pytest.mark.parametrize("content", [b"garbage", None], ids=["garbage", "pickled-object"])
def test_mel_bad_input_exits_2(cli, tmp_path, content):
    path = tmp_path / "bad.npy"
    if content is None:
        np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    else:
        path.write_bytes(content)
    code, _, err = cli("audio", "mel", path)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "bad.npy" in err


def test_mel_three_d_tensor_exits_2(cli, tmp_path):
    path = tmp_path / "three.npy"
    np.save(path, np.zeros((2, 80, 10), np.float32))
    code, _, err = cli("audio", "mel", path)
    assert code == 2 and "2-D" in err


def test_inspect_ogg_vorbis(cli, speech_24k, tmp_path):
    path = tmp_path / "speech.ogg"
    sf.write(path, *speech_24k, format="OGG", subtype="VORBIS")
    code, _, err = cli("audio", "inspect", path, "--json", tmp_path / "r.json", "--no-vad")
    assert code == 0, err
    row = json.loads((tmp_path / "r.json").read_text())["files"][0]
    assert row["format"] == "OGG" and row["verdict"] == "speech"


def test_antiphase_stereo_is_called_out(tmp_path, speech_24k):
    y, sr = speech_24k
    path = tmp_path / "antiphase.wav"
    sf.write(path, np.stack([y, -y], axis=1), sr, subtype="FLOAT")
    clip = load_audio(path)
    assert clip.channels == 2
    assert any("cancel in the mono mix" in note for note in clip.notes)
