"""Repeated names (llama.cpp reuses graph-node names) become NAME#n or leave a note."""

from __future__ import annotations

import io
import json
import warnings
import zipfile

import numpy as np

from audioparity.trace import open_trace, write_trace


def _dump(directory, order: list[str], files: dict[str, float]):
    directory.mkdir()
    for name, value in files.items():
        np.save(directory / f"{name}.npy", np.full(4, value, np.float32))
    (directory / "order.txt").write_text("\n".join(order) + "\n")
    return directory


def test_numbered_files_take_the_repeats_in_execution_order(tmp_path):
    d = _dump(tmp_path / "dump", ["attn_norm-0", "Qcur-0", "Kcur-0", "Qcur-0", "ffn_out-0"],
              {"attn_norm-0": 0, "Qcur-0": 1, "Kcur-0": 2, "Qcur-0#1": 3, "ffn_out-0": 4})
    with open_trace(d) as trace:
        assert trace.names == ["attn_norm-0", "Qcur-0", "Kcur-0", "Qcur-0#1", "ffn_out-0"]
        assert np.allclose(trace.read("Qcur-0#1"), 3)
        assert "repeats 1 name(s) ('Qcur-0')" in trace.meta["notes"][0]


def test_one_file_for_a_repeat_stands_at_the_last_repeat_with_a_note(tmp_path):
    d = _dump(tmp_path / "dump", ["attn_norm-0", "Qcur-0", "Kcur-0", "Qcur-0", "ffn_out-0"],
              {"attn_norm-0": 0, "Qcur-0": 1, "Kcur-0": 2, "ffn_out-0": 4})
    with open_trace(d) as trace:
        # the dumper overwrote Qcur-0.npy: it holds the value after RoPE, the last write
        assert trace.names == ["attn_norm-0", "Kcur-0", "Qcur-0", "ffn_out-0"]
        (note,) = trace.meta["notes"]
        assert "only one tensor exists" in note and "last repeat" in note


def test_no_repeats_no_notes(tmp_path):
    d = _dump(tmp_path / "dump", ["b", "a"], {"a": 0, "b": 1})
    with open_trace(d) as trace:
        assert trace.names == ["b", "a"] and "notes" not in trace.meta


def test_zip_members_stored_twice_are_both_read(tmp_path):
    path = tmp_path / "dump.npz"
    with zipfile.ZipFile(path, "w") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns "Duplicate name": the case under test
        for value in (1.0, 2.0):
            buf = io.BytesIO()
            np.save(buf, np.full(3, value, np.float32))
            zf.writestr("Qcur-0.npy", buf.getvalue())
    with open_trace(path) as trace:
        assert trace.names == ["Qcur-0", "Qcur-0#1"]
        assert np.allclose(trace.read("Qcur-0"), 1) and np.allclose(trace.read("Qcur-0#1"), 2)
        assert "2 times" in trace.meta["notes"][0]


def test_repeats_in_the_safetensors_order_metadata(tmp_path):
    # a port that appends to its order list on every record but stores a dict by name
    path = write_trace(tmp_path / "t.safetensors",
                       {"a": np.zeros(2, np.float32), "Q": np.ones(2, np.float32)})
    header_len = int.from_bytes(path.read_bytes()[:8], "little")
    header = json.loads(path.read_bytes()[8:8 + header_len])
    header["__metadata__"]["audioparity.order"] = json.dumps(["Q", "a", "Q"])
    blob = json.dumps(header).encode()
    blob += b" " * (-len(blob) % 8)
    data = path.read_bytes()[8 + header_len:]
    path.write_bytes(len(blob).to_bytes(8, "little") + blob + data)
    with open_trace(path) as trace:
        assert trace.names == ["a", "Q"]
        assert "only one tensor exists" in trace.meta["notes"][0]


def test_a_repeated_name_with_no_file_leaves_no_note(tmp_path):
    d = _dump(tmp_path / "dump", ["a", "gone", "b", "gone"], {"a": 0, "b": 1})
    with open_trace(d) as trace:
        assert trace.names == ["a", "b"] and "notes" not in trace.meta


def test_a_tensor_name_repeated_in_a_safetensors_header_is_read_twice(tmp_path):
    blob = (b'{"Qcur-0":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
            b'"Qcur-0":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}')
    path = tmp_path / "dup.safetensors"
    path.write_bytes(len(blob).to_bytes(8, "little") + blob
                     + np.array([1, 1, 2, 2], np.float32).tobytes())
    with open_trace(path) as trace:
        assert trace.names == ["Qcur-0", "Qcur-0#1"]
        assert np.allclose(trace.read("Qcur-0#1"), 2)
        assert "more than once" in trace.meta["notes"][0]
