"""Bad trace files give one clear line naming the file and exit 2 — never a traceback."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from audioparity.trace import write_trace


class Evil:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def good(tmp_path):
    return write_trace(tmp_path / "good.safetensors", {"a": np.ones(4, np.float32)})


def _corrupt_cases(tmp_path, good):
    data = good.read_bytes()
    cases = {
        "truncated.safetensors": data[: len(data) - 5],
        "garbage.safetensors": b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!",
        "tiny.safetensors": b"abc",
        "bad.npz": b"PK\x03\x04 broken zip",
        "bad.npy": b"\x93NUMPY\x01\x00garbage",
        "bad.gguf": b"GGUF\x03\x00\x00\x00" + b"\x00" * 5,
        "bad.pt": b"PK\x03\x04 not a torch zip",
        "empty.safetensors": b"",
    }
    paths = []
    for name, blob in cases.items():
        p = tmp_path / name
        p.write_bytes(blob)
        paths.append(p)
    return paths


def test_corrupt_files_exit_2_with_one_line(tmp_path, good, cli):
    for bad in _corrupt_cases(tmp_path, good):
        code, _, err = cli("compare", good, bad)
        assert code == 2, (bad, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and str(bad) in lines[0], (bad, err)
        assert "Traceback" not in err


def test_missing_file(tmp_path, good, cli):
    code, _, err = cli("compare", good, tmp_path / "nope.safetensors")
    assert code == 2 and "no such file" in err


def test_pickle_with_code_is_refused(tmp_path, good, cli):
    evil, marker = tmp_path / "evil.pt", tmp_path / "code-ran"
    with open(evil, "wb") as fh:
        pickle.dump({"a": Evil(marker)}, fh)
    code, _, err = cli("compare", good, evil)
    assert code == 2 and "refusing to unpickle" in err
    assert not marker.exists()


def test_pickle_that_is_not_a_dict(tmp_path, good, cli):
    torch.save([1, 2, 3], tmp_path / "list.pt")
    code, _, err = cli("compare", good, tmp_path / "list.pt")
    assert code == 2 and "not a dict of tensors" in err


def test_non_numeric_dtype(tmp_path, good, cli):
    np.save(tmp_path / "s.npy", np.array(["a", "b"]))
    code, _, err = cli("compare", good, tmp_path / "s.npy")
    assert code == 2 and "non-numeric" in err


def test_nothing_in_common(tmp_path, good, cli):
    other = write_trace(tmp_path / "other.safetensors", {"zzz": np.ones((7, 3), np.float32)})
    code, _, err = cli("compare", good, other)
    assert code == 2 and "no tensor in common" in err


def test_empty_trace(tmp_path, good, cli):
    from safetensors.numpy import save_file

    save_file({}, str(tmp_path / "none.safetensors"))
    code, _, err = cli("compare", good, tmp_path / "none.safetensors")
    assert code == 2 and "empty" in err


def test_inputs_are_not_modified(tmp_path, good, cli):
    port = write_trace(tmp_path / "port.safetensors", {"a": np.full(4, 2, np.float32)})
    before = (good.read_bytes(), port.read_bytes())
    cli("compare", good, port, "--json", tmp_path / "out.json")
    assert (good.read_bytes(), port.read_bytes()) == before


def test_refused_pickle_prints_exactly_one_line_from_the_console_script(tmp_path, good):
    """In a real process torch's unpickler warns on stderr; only the refusal may show."""
    import subprocess
    import sys
    from pathlib import Path

    evil = tmp_path / "evil.pt"
    with open(evil, "wb") as fh:
        pickle.dump({"a": Evil(tmp_path / "code-ran")}, fh, protocol=4)
    script = Path(sys.executable).with_name("audioparity")
    run = subprocess.run([str(script), "compare", str(good), str(evil)], check=False,
                         capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith(f"audioparity: error: {evil}: refusing to unpickle")
    assert "Unsupported" in lines[0] and "PyTorch 2.6" not in lines[0]  # the reason only
