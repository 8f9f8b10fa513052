"""Decoder probes through the command form: a NumPy port of the DAC decoder run as a
script that reads ``{tokens}`` and writes ``{wav}``, checked against the transformers
reference decoder; a script that hangs on one probe and crashes on another; commands that
cannot start or write nothing; tokens out of range."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("transformers")

import codec_decoders as codec

HERE = Path(__file__).parent
REF_CALLABLE = f"{HERE / 'codec_decoders.py'}:reference_decode"

SCRIPT = """\
import sys, time
import numpy as np
import soundfile as sf
sys.path.insert(0, {here!r})
from numpy_dac import NumpyDac

tokens_path, wav_path, weights = sys.argv[1:4]
fragile = "--fragile" in sys.argv
codes = np.load(tokens_path)[0]
if fragile and not codes.any():
    time.sleep(600)  # a port that spins on all-zero codes
if fragile and codes.min() == codes.max():
    raise IndexError("frame 0: no code for a constant frame")
audio = NumpyDac(weights, {ratios!r}).decode(codes)
if "--scaled" in sys.argv:
    audio = audio / 1024  # an ISTFT-style 1/n_fft normalisation applied twice
sf.write(wav_path, audio, {sr}, subtype="FLOAT")
"""


@pytest.fixture(scope="module")
def port_files(tmp_path_factory):
    """The port script, the reference's weights for it, and the reference's tokens."""
    out = tmp_path_factory.mktemp("decoder_command")
    weights = codec.save_weights(codec.reference(), out / "dac.safetensors")
    script = out / "port_decode.py"
    script.write_text(SCRIPT.format(here=str(HERE), ratios=codec.HF["upsampling_ratios"],
                                    sr=codec.SR))
    tokens = out / "ref_tokens.npy"
    np.save(tokens, codec.reference_tokens())
    return script, weights, tokens


def _command(script: Path, weights: str, *flags: str) -> str:
    return " ".join([sys.executable, str(script), "{tokens}", "{wav}", weights, *flags])


@pytest.mark.slow  # three probe runs of a subprocess each
def test_numpy_port_run_as_a_command_matches_the_reference_decoder(port_files, cli,
                                                                   tmp_path):
    script, weights, tokens = port_files
    code, out, err = cli("probe", "decoder", "--command", _command(script, weights),
                         "--ref-callable", REF_CALLABLE, "--tokens", tokens,
                         "--codebook-size", codec.CODEBOOK_SIZE, "--timeout", 60,
                         "--json", tmp_path / "d.json")
    assert code == 0, out + err
    payload = json.loads((tmp_path / "d.json").read_text())
    assert payload["status"] == "ok" and payload["fault"] == "none"
    assert [p["probe"] for p in payload["probes"]] == ["zeros", "constant", "pattern",
                                                       "random", "reference"]
    assert all(p["vs_ref"]["snr_db"] > 60 for p in payload["probes"])


@pytest.mark.slow  # three probe runs of a subprocess each
def test_scaled_port_is_blamed_on_the_decoder(port_files, cli):
    script, weights, tokens = port_files
    code, out, _ = cli("probe", "decoder", "--command", _command(script, weights, "--scaled"),
                       "--ref-callable", REF_CALLABLE, "--tokens", tokens,
                       "--codebook-size", codec.CODEBOOK_SIZE)
    assert code == 1
    assert "(fault: decoder)" in out
    assert "scale: port = 0.0009766 × ref" in out


@pytest.mark.slow  # waits out one 5 s timeout
def test_hang_and_crash_are_reported_per_probe(port_files, cli, tmp_path):
    script, weights, tokens = port_files
    code, out, err = cli("probe", "decoder", "--command",
                         _command(script, weights, "--fragile"), "--ref-callable",
                         REF_CALLABLE, "--tokens", tokens, "--codebook-size",
                         codec.CODEBOOK_SIZE, "--timeout", 5, "--json", tmp_path / "d.json")
    assert code == 1, err
    probes = {p["probe"]: p for p in json.loads((tmp_path / "d.json").read_text())["probes"]}
    assert probes["zeros"]["failure"] == "timed out after 5 s (killed)"
    assert probes["constant"]["failure"] == ("crashed (exit 1): IndexError: frame 0: no code "
                                             "for a constant frame")
    assert probes["reference"]["ok"] and probes["pattern"]["ok"] and probes["random"]["ok"]
    assert "timed out after 5 s" in out


def test_command_that_cannot_start_is_one_line(cli, tmp_path):
    np.save(tmp_path / "t.npy", codec.reference_tokens())
    code, _out, err = cli("probe", "decoder", "--command",
                         f"{tmp_path / 'absent_decoder'} {{tokens}} {{wav}}",
                         "--tokens", tmp_path / "t.npy", "--codebook-size", 32)
    assert code == 2
    assert err.strip().splitlines() == [
        (f"audioparity: error: {tmp_path / 'absent_decoder'}: the decoder command cannot "
        "start: No such file or directory")]


def test_command_that_writes_nothing_checks_nothing(cli, tmp_path):
    script = tmp_path / "silent.py"
    script.write_text("import sys\n")
    code, _out, err = cli("probe", "decoder", "--command",
                         f"{sys.executable} {script} {{tokens}} {{wav}}", "--codebooks", 2,
                         "--frames", 50, "--codebook-size", 32, "--json", tmp_path / "d.json")
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "no probe gave audio, nothing could be checked" in err
    assert "wrote no WAV" in err
    assert json.loads((tmp_path / "d.json").read_text())["status"] == "error"


@pytest.mark.parametrize("bad, problem", [
    (np.array([[[0, 5, 40]]]), "ids out of range: codebook 0 holds 40 (codebook size 32"),
    (np.array([[[0, -1, 3]]]), "ids out of range: codebook 0 holds -1"),
    (np.array([[[0.5, 1.0]]]), "not whole numbers"),
])
def test_tokens_out_of_range_are_refused(cli, tmp_path, bad, problem):
    np.save(tmp_path / "t.npy", bad)
    code, _, err = cli("probe", "decoder", "--callable", REF_CALLABLE, "--tokens",
                       tmp_path / "t.npy", "--codebook-size", 32)
    assert code == 2
    assert err.startswith(f"audioparity: error: {tmp_path / 't.npy'}: ")
    assert problem in err


@pytest.mark.parametrize("args, problem", [
    (["--codebook-size", "32", "--codebooks", "3", "--frames", "9"], "give the port's decoder"),
    (["--command", "port_decode {tokens}", "--codebook-size", "32", "--codebooks", "3",
      "--frames", "9"], "must contain {wav}"),
    (["--callable", "no_colon", "--codebook-size", "32", "--codebooks", "3", "--frames", "9"],
     "MODULE:FUNCTION"),
    (["--callable", "absent_module_xyz:decode", "--codebook-size", "32", "--codebooks", "3",
      "--frames", "9"], "absent_module_xyz: cannot import"),
    (["--callable", REF_CALLABLE, "--codebook-size", "32"], "--codebooks and --frames"),
])
def test_usage_errors_are_one_line(cli, args, problem):
    code, _, err = cli("probe", "decoder", *args)
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert problem in err


def test_callable_port_against_callable_reference_writes_json(cli, tmp_path):
    np.save(tmp_path / "t.npy", codec.reference_tokens())
    code, out, err = cli("probe", "decoder", "--callable", REF_CALLABLE, "--ref-callable",
                         REF_CALLABLE, "--tokens", tmp_path / "t.npy", "--codebook-size",
                         codec.CODEBOOK_SIZE, "--json", "-")
    assert code == 0, err
    payload = json.loads(out)  # --json -: only the JSON on stdout
    assert payload["status"] == "ok" and payload["fault"] == "none"
    assert payload["codebooks"] == codec.CODEBOOKS and payload["frames"] == codec.FRAMES
    assert payload["compared_with_reference_decoder"] is True


def test_wav_dir_keeps_every_decode_to_listen_to(cli, tmp_path):
    import soundfile as sf

    np.save(tmp_path / "t.npy", codec.reference_tokens())
    code, out, err = cli("probe", "decoder", "--callable", REF_CALLABLE, "--ref-callable",
                         REF_CALLABLE, "--tokens", tmp_path / "t.npy", "--codebook-size",
                         codec.CODEBOOK_SIZE, "--wav-dir", tmp_path / "wavs")
    assert code == 0, err
    names = sorted(p.name for p in (tmp_path / "wavs").iterdir())
    assert names == sorted(f"{n}{s}.wav" for n in ("zeros", "constant", "pattern", "random",
                                                   "reference") for s in ("", ".ref"))
    y, sr = sf.read(tmp_path / "wavs" / "reference.wav", dtype="float32")
    expected = codec.reference_decode(codec.reference_tokens())[0][0]
    assert sr == codec.SR and np.allclose(y, expected, atol=1e-6)
    assert "audio: 10 WAV files in" in out
