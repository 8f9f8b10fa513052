"""Every trace format reads back the same tensors, lazily, in the right order."""

from __future__ import annotations

import json

import gguf
import numpy as np
import pytest
import torch

from audioparity.trace import TraceWriter, open_trace, write_trace
from audioparity.trace.base import bf16_bits_to_float32, float32_to_bf16_bits

TENSORS = {
    "model.layers.10.mlp": np.arange(12, dtype=np.float32).reshape(3, 4),
    "model.layers.2.mlp": np.linspace(-1, 1, 6).astype(np.float16),
    "tokens": np.array([[1, 2, 3]], dtype=np.int64),
}


def test_native_safetensors_keeps_execution_order_and_meta(tmp_path):
    path = write_trace(tmp_path / "t.safetensors", TENSORS, {"model": "demo"})
    with open_trace(path) as trace:
        assert trace.names == list(TENSORS)
        assert trace.meta["model"] == "demo"
        for name, arr in TENSORS.items():
            np.testing.assert_array_equal(trace.read(name), arr)
            assert trace.info(name).dtype == arr.dtype.name
        assert isinstance(trace.read("tokens"), np.memmap | np.ndarray)


def test_bfloat16_is_stored_as_bf16_and_read_as_float32(tmp_path):
    x = np.random.default_rng(0).standard_normal(1000).astype(np.float32)
    with TraceWriter(tmp_path / "b.safetensors") as w:
        w.add("x", x, dtype="bfloat16")
    trace = open_trace(tmp_path / "b.safetensors")
    assert trace.info("x").dtype == "bfloat16"
    expected = torch.from_numpy(x).bfloat16().float().numpy()
    np.testing.assert_array_equal(trace.read("x"), expected)


def test_bf16_rounding_matches_torch():
    x = np.random.default_rng(1).standard_normal(10_000).astype(np.float32) * 1e3
    ours = bf16_bits_to_float32(float32_to_bf16_bits(x))
    np.testing.assert_array_equal(ours, torch.from_numpy(x).bfloat16().float().numpy())


def test_stock_safetensors_without_order_uses_natural_order(tmp_path):
    from safetensors.numpy import save_file

    save_file(TENSORS, str(tmp_path / "s.safetensors"))
    trace = open_trace(tmp_path / "s.safetensors")
    assert trace.names == ["model.layers.2.mlp", "model.layers.10.mlp", "tokens"]


def test_npz_keeps_archive_order(tmp_path):
    np.savez(tmp_path / "t.npz", **TENSORS)
    trace = open_trace(tmp_path / "t.npz")
    assert trace.names == list(TENSORS)
    np.testing.assert_array_equal(trace.read("tokens"), TENSORS["tokens"])


def test_npy_directory_with_order_file_and_steps(tmp_path):
    (tmp_path / "@0").mkdir()
    np.save(tmp_path / "b.npy", np.ones(2))
    np.save(tmp_path / "a.npy", np.zeros(2))
    np.save(tmp_path / "@0" / "model.mlp.npy", np.full(3, 2.0))
    (tmp_path / "order.txt").write_text("b\n@0/model.mlp\n")
    trace = open_trace(tmp_path)
    assert trace.names == ["b", "@0/model.mlp", "a"]
    assert isinstance(trace.read("a"), np.memmap)


def test_torch_state_dict_is_flattened(tmp_path):
    torch.save({"enc": {"w": torch.ones(2, 2)}, "b": torch.zeros(3).bfloat16()}, tmp_path / "s.pt")
    trace = open_trace(tmp_path / "s.pt")
    assert trace.names == ["enc.w", "b"]
    assert trace.info("b").dtype == "bfloat16"
    assert trace.read("b").dtype == np.float32


def test_gguf_is_dequantized_and_keeps_its_type(tmp_path):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((32, 64)).astype(np.float32)
    writer = gguf.GGUFWriter(tmp_path / "m.gguf", "llama")
    q = gguf.quants.quantize(w, gguf.GGMLQuantizationType.Q8_0)
    writer.add_tensor("blk.0.attn_q.weight", q, raw_shape=q.shape,
                      raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    writer.add_tensor("blk.0.attn_norm.weight", w[0])
    writer.add_string("audioparity.order", json.dumps(["blk.0.attn_norm.weight"]))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    trace = open_trace(tmp_path / "m.gguf")
    assert trace.names == ["blk.0.attn_norm.weight", "blk.0.attn_q.weight"]
    info = trace.info("blk.0.attn_q.weight")
    assert info.qtype == "Q8_0" and info.shape == (32, 64)
    back = trace.read("blk.0.attn_q.weight")
    assert back.shape == w.shape
    assert 0 < np.abs(back - w).max() < 0.05


def test_writer_leaves_no_file_when_aborted(tmp_path):
    target = tmp_path / "x.safetensors"
    with pytest.raises(RuntimeError), TraceWriter(target) as w:
        w.add("a", np.ones(3))
        raise RuntimeError("boom")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []
