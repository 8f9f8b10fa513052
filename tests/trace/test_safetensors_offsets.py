"""safetensors data offsets: overlapping or out-of-bounds spans are refused, any order read."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from audioparity.errors import InputError
from audioparity.trace import open_trace


def _raw(path, entries: dict, data: bytes):
    blob = json.dumps(entries).encode()
    path.write_bytes(struct.pack("<Q", len(blob)) + blob + data)
    return path


DATA = np.arange(8, dtype=np.float32).tobytes()  # 32 bytes


def test_overlapping_offsets_are_refused(tmp_path, cli):
    path = _raw(tmp_path / "overlap.safetensors",
                {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                 "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}, DATA)
    with pytest.raises(InputError, match="'a' and 'b' overlap"):
        open_trace(path)
    code, _, err = cli("compare", path, path)
    assert code == 2 and "overlap" in err and len(err.strip().splitlines()) == 1


def test_out_of_bounds_offsets_are_refused(tmp_path):
    path = _raw(tmp_path / "oob.safetensors",
                {"a": {"dtype": "F32", "shape": [16], "data_offsets": [0, 64]}}, DATA)
    with pytest.raises(InputError, match="out of bounds"):
        open_trace(path)


def test_reversed_offsets_are_refused(tmp_path):
    path = _raw(tmp_path / "rev.safetensors",
                {"a": {"dtype": "F32", "shape": [0], "data_offsets": [16, 0]}}, DATA)
    with pytest.raises(InputError, match="do not match shape"):
        open_trace(path)


@pytest.mark.parametrize("shape", [["4"], [4.0], [-4], [True, 4], "4"])
def test_non_integer_shapes_are_refused(tmp_path, shape):
    path = _raw(tmp_path / "shape.safetensors",
                {"a": {"dtype": "F32", "shape": shape, "data_offsets": [0, 16]}}, DATA)
    with pytest.raises(InputError, match="shape"):
        open_trace(path)


def test_data_in_another_order_than_the_header_is_read(tmp_path):
    path = _raw(tmp_path / "order.safetensors",
                {"a": {"dtype": "F32", "shape": [4], "data_offsets": [16, 32]},
                 "b": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, DATA)
    with open_trace(path) as trace:
        assert np.allclose(trace.read("a"), [4, 5, 6, 7])
        assert np.allclose(trace.read("b"), [0, 1, 2, 3])


def test_order_metadata_that_is_not_a_list_of_names_is_refused(tmp_path):
    path = _raw(tmp_path / "meta.safetensors",
                {"__metadata__": {"audioparity.order": json.dumps([1, 2])},
                 "a": {"dtype": "F32", "shape": [8], "data_offsets": [0, 32]}}, DATA)
    with pytest.raises(InputError, match="list of names"):
        open_trace(path)


def test_a_hole_in_the_data_is_read_with_a_note(tmp_path):
    path = _raw(tmp_path / "hole.safetensors",
                {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                 "b": {"dtype": "F32", "shape": [2], "data_offsets": [16, 24]}}, DATA)
    with open_trace(path) as trace:
        assert np.allclose(trace.read("b"), [4, 5])
        assert "16 bytes of the data section belong to no tensor" in trace.meta["notes"][0]


def test_a_native_trace_has_no_hole_note(tmp_path):
    from audioparity.trace import write_trace

    path = write_trace(tmp_path / "t.safetensors", {"a": np.ones(3, np.float32),
                                                    "b": np.ones((2, 2), np.float16)})
    with open_trace(path) as trace:
        assert "notes" not in trace.meta
