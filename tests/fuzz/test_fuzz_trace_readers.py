"""Fuzzed trace readers: safetensors, npy, npz, a .npy directory, GGUF, torch .pt.

See :mod:`fuzzing` for the property and the budget (``AUDIOPARITY_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import seeds
from fuzzing import FUZZ, Workdir, mutated, read_or_refuse
from hypothesis import given
from hypothesis import strategies as st

from audioparity.trace import open_trace

pytestmark = pytest.mark.slow

WORK = Workdir()


def read_everything(path) -> None:
    """Open a trace and read every tensor, touching every byte."""
    with open_trace(path) as trace:
        for name in trace.names:
            info = trace.info(name)
            arr = np.array(trace.read(name))
            assert arr.shape == info.shape, (name, arr.shape, info.shape)


def _fuzz_file(name: str, seed: bytes, hot: int = 256):
    @FUZZ
    @given(data=mutated(seed, hot))
    def run(data: bytes) -> None:
        path = WORK.path(name)
        path.write_bytes(data)
        read_or_refuse(path, read_everything)

    return run


test_fuzz_native_safetensors = _fuzz_file("t.safetensors", seeds.native_safetensors(), 600)
test_fuzz_stock_safetensors = _fuzz_file("t.safetensors", seeds.stock_safetensors(), 500)
test_fuzz_npy = _fuzz_file("t.npy", seeds.npy(), 128)
test_fuzz_npy_complex = _fuzz_file("t.npy", seeds.npy_complex(), 128)
test_fuzz_npz = _fuzz_file("t.npz", seeds.npz(), 2048)
test_fuzz_npz_compressed = _fuzz_file("t.npz", seeds.npz_compressed(), 2048)
test_fuzz_gguf = _fuzz_file("t.gguf", seeds.gguf_file(), 384)
test_fuzz_torch_pt = _fuzz_file("t.pt", seeds.torch_pt(), 2048)
test_fuzz_unknown_suffix = _fuzz_file("t.dump", seeds.native_safetensors(), 600)


NPY_DIR = {"attn_norm-0.npy": seeds.npy(), "Qcur-0.npy": seeds.npy(),
           "Qcur-0#1.npy": seeds.npy_complex(), "@0/ffn_out-0.npy": seeds.npy(),
           "order.txt": b"attn_norm-0\nQcur-0\nQcur-0\n@0/ffn_out-0\nQcur-0\n"}


@FUZZ
@given(target=st.sampled_from(sorted(NPY_DIR)), data=st.data())
def test_fuzz_npy_directory(target: str, data) -> None:
    root = WORK.path("dump")
    root.mkdir()
    for rel, blob in NPY_DIR.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(blob if rel != target else data.draw(mutated(blob, 128)))
    read_or_refuse(root, read_everything)


# --- structured safetensors headers: offsets overlapping, out of order, out of bounds ------

_DTYPES = ["F32", "F16", "BF16", "I64", "U8", "BOOL", "C64", "F8_E4M3", "F64", "X9", 3, None]
_SIZES = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8, "U8": 1, "BOOL": 1, "C64": 8,
          "F8_E4M3": 1, "F64": 8}
_ODD = st.one_of(st.integers(-3, 70), st.sampled_from([2 ** 40, 2 ** 63, 1.5, "4", True,
                                                       None, [1]]))


@st.composite
def safetensors_blob(draw) -> bytes:
    """A header whose entries are mostly plausible and sometimes not, with a data section."""
    header: dict = {}
    offset = 0
    for i in range(draw(st.integers(0, 5))):
        dtype = draw(st.sampled_from(_DTYPES))
        shape = draw(st.lists(st.integers(0, 4), max_size=3))
        if draw(st.integers(0, 9)) == 0:
            shape = draw(st.lists(_ODD, max_size=3))
        size = int(np.prod([s for s in shape if isinstance(s, int) and not
                            isinstance(s, bool)] or [1])) * _SIZES.get(dtype, 1)
        begin = draw(st.sampled_from([offset, max(offset - 4, 0), 0, offset + 4]))
        end = begin + size
        offsets = [begin, end]
        if draw(st.integers(0, 9)) == 0:
            offsets = draw(st.lists(_ODD, max_size=3))
        entry = {"dtype": dtype, "shape": shape, "data_offsets": offsets}
        if draw(st.integers(0, 19)) == 0:
            entry = draw(st.sampled_from([[], "x", 1, {"dtype": "F32"}]))
        header[draw(st.sampled_from([f"t{i}", "t0", "__x", "\udcff"[:0] + f"n{i}"]))] = entry
        offset = end if isinstance(end, int) else offset
    if draw(st.booleans()):
        header["__metadata__"] = draw(st.sampled_from([
            {"audioparity.order": json.dumps(["t1", "t0", "t1"])},
            {"audioparity.order": "not json"}, {"audioparity.order": json.dumps({"a": 1})},
            {"audioparity.meta": json.dumps([1])}, {"audioparity.meta": 5}, [], None,
            {"audioparity.order": json.dumps([[1], 2])}]))
    blob = json.dumps(header).encode()
    blob += b" " * draw(st.integers(0, 8))
    length = len(blob) + draw(st.sampled_from([0, 0, 0, 1, -1, 8, -8]))
    data = bytes(draw(st.integers(0, min(max(offset, 0), 4096) + 8)))  # claims may be huge
    return struct.pack("<Q", max(length, 0)) + blob + data


@FUZZ
@given(blob=safetensors_blob())
def test_fuzz_safetensors_headers(blob: bytes) -> None:
    path = WORK.path("h.safetensors")
    path.write_bytes(blob)
    read_or_refuse(path, read_everything)
