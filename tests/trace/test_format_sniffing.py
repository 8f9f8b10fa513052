"""The format is told from content: a misnamed trace is read, a non-trace names what it is."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import soundfile as sf
import torch

from audioparity.errors import InputError
from audioparity.trace import open_trace, write_trace
from audioparity.trace.sniff import sniff_format

TONE = np.sin(2 * np.pi * 440 * np.arange(1600) / 16000).astype(np.float32)


def _npz(path):
    with open(path, "wb") as fh:  # np.savez on a file object keeps the name it is given
        np.savez(fh, a=np.arange(3, dtype=np.float32))
    return path


def _npy_bytes() -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.zeros(3, np.float32))
    return buf.getvalue()


def test_npz_named_safetensors_is_read_as_npz_with_a_note(tmp_path, cli):
    port = _npz(tmp_path / "port.safetensors")
    with open_trace(port) as trace:
        assert trace.names == ["a"]
        assert np.allclose(trace.read("a"), [0, 1, 2])
        assert "named .safetensors but holds a NumPy .npz archive" in trace.meta["notes"][0]
    ref = write_trace(tmp_path / "ref.safetensors", {"a": np.arange(3, dtype=np.float32)})
    code, _, err = cli("compare", ref, port)
    assert code == 0, err


def test_torch_file_named_safetensors_is_read(tmp_path):
    path = tmp_path / "t.safetensors"
    torch.save({"x": torch.ones(2)}, path)
    with open_trace(path) as trace:
        assert trace.names == ["x"] and sniff_format(path) == "torch"


@pytest.mark.parametrize("fmt, words", [("WAV", "RIFF/WAVE"), ("FLAC", "FLAC"),
                                         ("OGG", "Ogg")])
@pytest.mark.parametrize("suffix", [".safetensors", ".dat"])
def test_audio_passed_as_a_trace_is_named(tmp_path, cli, fmt, words, suffix):
    path = tmp_path / f"speech{suffix}"
    sf.write(path, TONE, 16000, format=fmt)
    code, _, err = cli("compare", path, path)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"this is a{'n' if fmt == 'OGG' else ''} {words}" in err and str(path) in err
    assert "audio compare" in err


@pytest.mark.parametrize("blob, words", [
    (json.dumps({"a": [1, 2, 3]}).encode(), "JSON"),
    (b"layer 0 max diff 0.1\nlayer 1 max diff 0.2\n", "text file"),
    (b"version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 4\n", "Git LFS"),
    (b"\x89HDF\r\n\x1a\n" + bytes(100), "HDF5"),
])
def test_other_content_is_named(tmp_path, blob, words):
    path = tmp_path / "port.safetensors"
    path.write_bytes(blob)
    with pytest.raises(InputError, match=words):
        open_trace(path)


@pytest.mark.parametrize("writer, key", [
    (lambda p: p.write_bytes(_npy_bytes()), "npy"),
    (_npz, "npz"),
    (lambda p: torch.save({"x": torch.ones(2)}, p), "torch"),
    (lambda p: torch.save({"x": torch.ones(2)}, p, _use_new_zipfile_serialization=False),
     "pickle"),
    (lambda p: write_trace(p, {"x": np.ones(2, np.float32)}), "safetensors"),
])
def test_unknown_extension_is_read_by_content(tmp_path, writer, key):
    path = tmp_path / "dump.bin2"
    writer(path)
    assert sniff_format(path) == key
    with open_trace(path) as trace:
        assert len(trace) == 1


def test_empty_file_says_empty(tmp_path):
    path = tmp_path / "e.npy"
    path.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        open_trace(path)


@pytest.mark.parametrize("name_length", [1, 7, 600, 617, 1000])
def test_any_header_length_is_sniffed_as_safetensors(tmp_path, name_length):
    # a header of 640 bytes starts the file with 0x80 0x02, a pickle's first two bytes
    path = write_trace(tmp_path / "t.bin2", {"a" * name_length: np.zeros(2, np.float32)})
    assert sniff_format(path) == "safetensors"


def test_a_misnamed_file_that_does_not_read_says_both(tmp_path):
    path = tmp_path / "port.safetensors"
    path.write_bytes(b"\x80\x04\x95garbage that is no pickle")
    with pytest.raises(InputError, match="named .safetensors but its content looks like a "
                                         "Python pickle"):
        open_trace(path)
