"""``audio compare`` edge cases a new user meets: a port far too short, --png targets."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import soundfile as sf

from audioparity.audio import compare_audio


@pytest.fixture
def pair(tmp_path, speech_24k):
    y, sr = speech_24k
    ref = tmp_path / "ref.wav"
    sf.write(ref, y, sr, subtype="FLOAT")
    return ref, y, sr


def test_a_4_ms_port_is_a_duration_mismatch(cli, pair, tmp_path):
    ref, y, sr = pair
    port = tmp_path / "port.wav"
    sf.write(port, y[: int(0.004 * sr)], sr, subtype="FLOAT")
    code, _, err = cli("audio", "compare", ref, port, "--json", tmp_path / "c.json",
                       "--no-quality")
    assert code == 1, err
    data = json.loads((tmp_path / "c.json").read_text())
    assert data["duration_mismatch"] is True and data["status"] == "divergent"
    assert data["duration_ratio"] < 0.01
    assert any("too short to align" in f for f in data["findings"])


def test_a_port_twice_as_long_is_a_duration_mismatch_even_when_it_does_not_align(speech_24k):
    y, sr = speech_24k
    noise = 0.1 * np.random.default_rng(1).standard_normal(2 * len(y)).astype(np.float32)
    result = compare_audio(y, sr, noise, sr, quality=False)
    assert result.duration_mismatch and result.status == "divergent"
    assert [c["cause"] for c in result.causes] == ["unknown"]


def test_png_into_an_existing_folder_writes_a_named_figure(cli, pair, tmp_path):
    ref, _, _ = pair
    folder = tmp_path / "figures"
    folder.mkdir()
    code, out, err = cli("audio", "compare", ref, ref, "--png", folder, "--no-quality")
    assert "ref_vs_ref.png" in out
    assert code == 0, err
    assert (folder / "ref_vs_ref.png").stat().st_size > 1000


def test_png_into_a_missing_folder_creates_it(cli, pair, tmp_path):
    ref, _, _ = pair
    target = tmp_path / "new" / "deeper" / "c.png"
    code, _, err = cli("audio", "compare", ref, ref, "--png", target, "--no-quality")
    assert code == 0, err
    assert target.stat().st_size > 1000


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_png_into_a_read_only_folder_exits_2(cli, pair, tmp_path):
    ref, _, _ = pair
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code, _, err = cli("audio", "compare", ref, ref, "--png", locked / "c.png",
                           "--no-quality")
    finally:
        locked.chmod(0o700)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "cannot write" in err


def test_png_over_a_file_in_place_of_a_folder_exits_2(cli, pair, tmp_path):
    ref, _, _ = pair
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    code, _, err = cli("audio", "compare", ref, ref, "--png", blocker / "c.png",
                       "--no-quality")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "cannot write" in err
    assert blocker.read_text() == "not a folder"


def test_a_trace_passed_as_audio_is_named(cli, pair, tmp_path):
    ref, _, _ = pair
    trace = tmp_path / "port.wav"
    np.save(tmp_path / "x.npy", np.zeros(4, np.float32))
    trace.write_bytes((tmp_path / "x.npy").read_bytes())
    code, _, err = cli("audio", "compare", ref, trace, "--no-quality")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "this is a NumPy .npy file" in err and str(trace) in err
