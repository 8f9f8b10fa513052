"""The trace writer streams data behind a reserved header, stays readable by the stock
``safetensors`` loader, and never leaves a half-written file."""

from __future__ import annotations

import json
import struct
import time

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import load_file

from audioparity.trace import TraceWriter, open_trace, write_trace


def _header(path) -> tuple[int, dict]:
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return n, json.loads(raw[8:8 + n])


def _big_trace(rng: np.random.Generator, n_small: int = 40) -> dict[str, np.ndarray]:
    """Over the 4 MiB kept in memory: the writer streams to disk behind a reserved header."""
    tensors = {"model.embed_tokens": rng.standard_normal((1200, 1024)).astype(np.float32)}
    for i in range(n_small):
        tensors[f"model.layers.{i}.mlp"] = rng.standard_normal((3, 7)).astype(np.float32)
    tensors["model.norm"] = rng.standard_normal((1, 4096)).astype(np.float16)
    tensors["tokens"] = np.arange(12, dtype=np.int64).reshape(1, 12)
    return tensors


def _assert_stock_loader_reads(path, tensors, meta):
    loaded = load_file(str(path))
    assert set(loaded) == set(tensors)
    for name, arr in tensors.items():
        assert loaded[name].dtype == arr.dtype
        np.testing.assert_array_equal(loaded[name], arr)
    with safe_open(str(path), framework="numpy") as fh:
        stored = fh.metadata()
    assert json.loads(stored["audioparity.order"]) == list(tensors)
    assert json.loads(stored["audioparity.meta"]) == meta


def test_small_trace_has_a_compact_header_the_stock_loader_reads(tmp_path):
    rng = np.random.default_rng(0)
    tensors = {"a": rng.standard_normal((3, 4)).astype(np.float32),
               "b": np.array([True, False]), "c": np.zeros((0, 5), np.float32),
               "d": np.float64(2.5) * np.ones(()), "e": np.arange(6, dtype=np.uint8)}
    path = write_trace(tmp_path / "s.safetensors", tensors, {"model": "demo"})
    n, _ = _header(path)
    assert n < 1024 and (8 + n) % 8 == 0
    assert path.stat().st_size == 8 + n + sum(a.nbytes for a in tensors.values())
    _assert_stock_loader_reads(path, tensors, {"model": "demo"})


def test_large_trace_streams_behind_a_page_aligned_reserved_header(tmp_path):
    tensors = _big_trace(np.random.default_rng(1))
    meta = {"model": "big", "modules": {f"m{i}": "Linear" for i in range(50)}}
    path = write_trace(tmp_path / "big.safetensors", tensors, meta)
    n, _ = _header(path)
    assert (8 + n) % 4096 == 0 and n >= 256 * 1024 - 8  # the reserve, padded with spaces
    assert path.read_bytes()[8:8 + n].rstrip(b" ").endswith(b"}")
    _assert_stock_loader_reads(path, tensors, meta)
    with open_trace(path) as trace:
        assert trace.names == list(tensors)
        np.testing.assert_array_equal(trace.read("model.norm"), tensors["model.norm"])


def test_header_outgrowing_its_reserve_shifts_the_data_once(tmp_path):
    # 3000 long names after the first 4 MiB: ~700 kB of header, more than the 256 KiB reserve
    tensors = _big_trace(np.random.default_rng(2), n_small=3000)
    tensors = {(name + "." + "x" * 120 if name.startswith("model.layers") else name): arr
               for name, arr in tensors.items()}
    path = write_trace(tmp_path / "long.safetensors", tensors, {"model": "long"})
    n, _ = _header(path)
    assert n > 256 * 1024
    assert path.stat().st_size == 8 + n + sum(a.nbytes for a in tensors.values())
    _assert_stock_loader_reads(path, tensors, {"model": "long"})
    assert [p.name for p in tmp_path.iterdir()] == ["long.safetensors"]


def test_meta_changed_before_close_is_written(tmp_path):
    tensors = _big_trace(np.random.default_rng(3), n_small=2)
    with TraceWriter(tmp_path / "m.safetensors", {"model": "x"}) as writer:
        for name, arr in tensors.items():
            writer.add(name, arr)
        writer.meta["incomplete"] = False  # what the recorder adds at the end of a capture
    _assert_stock_loader_reads(tmp_path / "m.safetensors", tensors,
                               {"model": "x", "incomplete": False})


@pytest.mark.parametrize("size", [(3, 5), (1200, 1000)])  # in memory; streamed to disk
def test_conversions_and_strided_arrays_are_stored_as_asked(tmp_path, size):
    rng = np.random.default_rng(4)
    x = rng.standard_normal(size).astype(np.float32)
    path = tmp_path / "c.safetensors"
    with TraceWriter(path) as writer:
        writer.add("plain", x)
        writer.add("transposed", x.T)  # not contiguous: written in logical order
        writer.add("strided", x[:, ::2])
        writer.add("as_bf16", x, dtype="bfloat16")
        writer.add("as_f16", x, dtype="float16")
        writer.add("ints_as_f32", np.arange(4, dtype=np.int32), dtype="float32")
        writer.add("complex", (x[:2, :3] + 1j * x[:2, :3]).astype(np.complex64))
        writer.add("again_plain", x[:1])  # the same dtype after a conversion of it
    with open_trace(path) as trace:
        np.testing.assert_array_equal(trace.read("plain"), x)
        np.testing.assert_array_equal(trace.read("transposed"), x.T)
        np.testing.assert_array_equal(trace.read("strided"), x[:, ::2])
        assert trace.info("as_bf16").dtype == "bfloat16"
        np.testing.assert_allclose(trace.read("as_bf16"), x, rtol=2 ** -8)  # bf16: 8 bits
        assert trace.info("as_f16").dtype == "float16"
        assert trace.info("ints_as_f32").dtype == "float32"
        np.testing.assert_array_equal(trace.read("ints_as_f32"), [0, 1, 2, 3])
        np.testing.assert_array_equal(trace.read("complex")[..., 1], x[:2, :3])
        np.testing.assert_array_equal(trace.read("again_plain"), x[:1])


def test_array_changed_after_add_does_not_change_the_trace(tmp_path):
    # a runtime may reuse a tensor's memory (in-place ops, a KV cache) after it was recorded
    x = np.ones(10, np.float32)
    with TraceWriter(tmp_path / "t.safetensors") as writer:
        writer.add("x", x)
        x[:] = 7
    with open_trace(tmp_path / "t.safetensors") as trace:
        np.testing.assert_array_equal(trace.read("x"), np.ones(10, np.float32))


@pytest.mark.parametrize("n_small", [2, 3000])  # header in its reserve; header outgrowing it
def test_replacing_a_trace_is_atomic_and_keeps_its_mode(tmp_path, n_small):
    target = tmp_path / "ref.safetensors"
    write_trace(target, {"old": np.zeros(2, np.float32)})
    target.chmod(0o640)
    tensors = _big_trace(np.random.default_rng(5), n_small=n_small)
    tensors = {name + "_" * 100: arr for name, arr in tensors.items()}
    with pytest.raises(RuntimeError), TraceWriter(target) as writer:
        for name, arr in tensors.items():
            writer.add(name, arr)
        raise RuntimeError("the forward failed")
    assert load_file(str(target)).keys() == {"old"}
    assert [p.name for p in tmp_path.iterdir()] == ["ref.safetensors"]
    write_trace(target, tensors)
    assert target.stat().st_mode & 0o777 == 0o640
    _assert_stock_loader_reads(target, tensors, {})


def test_add_after_close_and_duplicate_names_are_refused(tmp_path):
    writer = TraceWriter(tmp_path / "t.safetensors")
    writer.add("a", np.ones(2, np.float32))
    with pytest.raises(ValueError, match="duplicate"):
        writer.add("a", np.ones(2, np.float32))
    writer.close()
    writer.close()  # closing twice is harmless
    with pytest.raises(ValueError, match="closed"):
        writer.add("b", np.ones(2, np.float32))
    assert writer.bytes_written == 8


def test_replacing_a_large_trace_frees_the_old_one_and_leaves_no_extra_name(tmp_path):
    # the old file gets a second name so the rename does not free it; a thread unlinks it
    target = tmp_path / "ref.safetensors"
    old = _big_trace(np.random.default_rng(6), n_small=1)
    new = _big_trace(np.random.default_rng(7), n_small=2)
    write_trace(target, old)
    with open_trace(target) as before:  # mapped before the replacement: keeps reading the old
        before.read("tokens")
        write_trace(target, new)
        np.testing.assert_array_equal(before.read("model.embed_tokens"),
                                      old["model.embed_tokens"])
    _assert_stock_loader_reads(target, new, {})
    deadline = time.monotonic() + 10
    while len(list(tmp_path.iterdir())) > 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [p.name for p in tmp_path.iterdir()] == ["ref.safetensors"]
