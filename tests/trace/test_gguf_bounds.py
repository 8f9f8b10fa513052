"""GGUF headers whose counts cannot fit in the file are refused at once (gguf would loop)."""

from __future__ import annotations

import struct
import time

import numpy as np
import pytest
from gguf import GGUFWriter

from audioparity.errors import InputError
from audioparity.trace import open_trace


def _gguf(path, array=(1, 2, 3)):
    writer = GGUFWriter(str(path), "llama")
    writer.add_array("audioparity.test", list(array))
    writer.add_tensor("w", np.ones((2, 4), np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _patch_array_length(path, value: int):
    data = bytearray(path.read_bytes())
    key = b"audioparity.test"
    at = data.index(key) + len(key) + 4 + 4  # value type u32, item type u32
    assert struct.unpack("<Q", data[at:at + 8])[0] == 3
    data[at:at + 8] = struct.pack("<Q", value)
    path.write_bytes(bytes(data))


def test_a_valid_file_still_reads(tmp_path):
    with open_trace(_gguf(tmp_path / "ok.gguf")) as trace:
        assert trace.names == ["w"] and np.allclose(trace.read("w"), 1)


@pytest.mark.parametrize("length", [2 ** 62, 10 ** 6, 2 ** 64 - 1])
def test_an_array_longer_than_the_file_is_refused_fast(tmp_path, length):
    path = _gguf(tmp_path / "big.gguf")
    _patch_array_length(path, length)
    start = time.perf_counter()
    with pytest.raises(InputError, match="cannot fit"):
        open_trace(path)
    assert time.perf_counter() - start < 1.0
