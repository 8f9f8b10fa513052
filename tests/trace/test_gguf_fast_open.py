"""A GGUF trace opens without parsing its vocabulary, and reads what ``gguf.GGUFReader`` reads.

:class:`~audioparity.trace.gguf_format.GGUFTrace` walks the header with the bounded walker
(long arrays stepped over by their lengths) and memory-maps the tensor data itself;
``GGUFReader`` builds a view for every token of a 150k-token list first (seconds).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import gguf
import numpy as np
import pytest

from audioparity.errors import InputError
from audioparity.trace import open_trace

N_TOKENS = 150_000
Q = gguf.GGMLQuantizationType


def _kquant_blocks(qtype: Q, rows: int, cols: int, rng: np.random.Generator) -> np.ndarray:
    """Random K-quant blocks (``gguf`` cannot quantize to K-quants) whose float16 scale
    fields hold finite values: Q4_K's ``d``, ``dmin`` lead a block, Q6_K's ``d`` ends it."""
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, (rows, cols // block, size), dtype=np.uint8)
    scales = rng.uniform(1e-3, 1e-2, (rows, cols // block, 2)).astype(np.float16).view(np.uint8)
    if qtype == Q.Q4_K:
        raw[..., 0:4] = scales.reshape(rows, cols // block, 4)
    else:
        raw[..., size - 2:] = scales[..., :2]
    return raw.reshape(rows, -1)


def _floats(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def write_model(path: Path, n_tokens: int, endian: gguf.GGUFEndian = gguf.GGUFEndian.LITTLE,
                quantized: bool = True) -> dict[str, np.ndarray]:
    """A GGUF with a vocabulary of ``n_tokens`` and tensors of the types a converter writes
    (F32, F16, BF16, I32, Q8_0, Q4_0, Q4_K, Q6_K; 1-D to 3-D). Returns the float tensors
    written (quantized ones before quantization)."""
    rng = np.random.default_rng(0)
    writer = gguf.GGUFWriter(str(path), "qwen3", endianess=endian)
    writer.add_block_count(1)
    writer.add_token_list([f"tok{i}" for i in range(n_tokens)])
    writer.add_token_types([gguf.TokenType.NORMAL] * n_tokens)
    writer.add_string("audioparity.order", json.dumps(["output_norm.weight",
                                                       "token_embd.weight"]))
    plain = {"token_embd.weight": _floats(rng, 16, 64),
             "blk.0.attn_norm.weight": _floats(rng, 64).astype(np.float16),
             "blk.0.conv.weight": _floats(rng, 3, 4, 8),
             "blk.0.positions": np.arange(12, dtype=np.int32).reshape(3, 4),
             "output_norm.weight": _floats(rng, 64)}
    for name, arr in plain.items():
        writer.add_tensor(name, arr)
    if quantized:
        for name, qtype in (("blk.0.attn_q.weight", Q.Q8_0), ("blk.0.attn_k.weight", Q.Q4_0),
                            ("blk.0.ffn_up.weight", Q.BF16)):
            floats = plain[name] = _floats(rng, 8, 64)
            data = gguf.quants.quantize(floats, qtype)
            writer.add_tensor(name, data, raw_shape=data.shape, raw_dtype=qtype)
        for name, qtype in (("blk.0.ffn_gate.weight", Q.Q4_K), ("blk.0.ffn_down.weight", Q.Q6_K)):
            data = _kquant_blocks(qtype, 4, 512, rng)
            writer.add_tensor(name, data, raw_shape=data.shape, raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return plain


@pytest.fixture(scope="module")
def vocab(tmp_path_factory):
    """A 150k-token GGUF, the floats written to it, gguf.GGUFReader's parse of it and the
    seconds that parse took."""
    path = tmp_path_factory.mktemp("vocab") / "vocab.gguf"
    written = write_model(path, N_TOKENS)
    start = time.perf_counter()
    reader = gguf.GGUFReader(path)
    return path, written, reader, time.perf_counter() - start


def test_a_150k_token_gguf_opens_ten_times_faster_than_gguf_reader(vocab):
    path, _, reader, reader_s = vocab
    opened_s = []
    for _ in range(3):
        start = time.perf_counter()
        trace = open_trace(path)
        opened_s.append(time.perf_counter() - start)
        assert len(trace.names) == len(reader.tensors)
        trace.close()
    assert min(opened_s) * 10 < reader_s, (opened_s, reader_s)


def _gguf_reader_value(tensor) -> np.ndarray:
    """A tensor as the former GGUFReader-based trace read it (NumPy shape order)."""
    shape = tuple(reversed(tensor.shape.tolist()))
    if tensor.tensor_type.name in ("F32", "F16", "F64", "I8", "I16", "I32", "I64"):
        return np.asarray(tensor.data).reshape(shape)
    return gguf.quants.dequantize(tensor.data, tensor.tensor_type).reshape(shape)


def test_every_tensor_reads_as_gguf_reader_reads_it(vocab):
    path, written, reader, _ = vocab
    with open_trace(path) as trace:
        assert trace.names[:2] == ["output_norm.weight", "token_embd.weight"]  # stored order
        assert set(trace.names) == {t.name for t in reader.tensors}
        assert trace.meta["architecture"] == "qwen3"
        seen_types = set()
        for tensor in reader.tensors:
            expected = _gguf_reader_value(tensor)
            info = trace.info(tensor.name)
            got = trace.read(tensor.name)
            qname = tensor.tensor_type.name
            seen_types.add(qname)
            assert info.shape == expected.shape == got.shape, tensor.name
            assert info.qtype == (None if qname in ("F32", "F16", "I32", "BF16") else qname)
            assert got.dtype == expected.dtype, tensor.name
            assert info.dtype == ("bfloat16" if qname == "BF16" else str(got.dtype))
            np.testing.assert_array_equal(got, expected)  # exact: the same bytes decoded
            if tensor.name in written and qname in ("F32", "F16", "I32"):
                np.testing.assert_array_equal(got, written[tensor.name])  # exact: stored as is
            elif tensor.name in written:  # quantized from these floats: near, not equal
                error = np.abs(got - written[tensor.name]).max()
                assert 0 < error < 0.2 * np.abs(written[tensor.name]).max(), tensor.name
        assert {"F32", "F16", "I32", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q6_K"} <= seen_types


def test_a_closed_trace_maps_the_file_again_when_read(vocab):
    path, written, _, _ = vocab
    trace = open_trace(path)
    first = np.array(trace.read("token_embd.weight"))
    trace.release()
    trace.close()
    np.testing.assert_array_equal(trace.read("token_embd.weight"), first)  # exact: same bytes
    np.testing.assert_array_equal(first, written["token_embd.weight"])  # exact: stored F32


def test_a_big_endian_gguf_reads_plain_tensors_and_refuses_quantized_ones(tmp_path):
    """Plain tensors come back in the machine's byte order with their values; a quantized
    one is refused in one line (writers disagree on swapping its block scales)."""
    path = tmp_path / "big.gguf"
    written = write_model(path, 10, gguf.GGUFEndian.BIG)
    with open_trace(path) as trace:
        assert trace.meta["architecture"] == "qwen3"
        for name in ("token_embd.weight", "blk.0.attn_norm.weight", "blk.0.conv.weight",
                     "blk.0.positions"):
            got = trace.read(name)
            assert got.dtype.isnative and got.dtype == written[name].dtype, name
            np.testing.assert_array_equal(got, written[name])  # exact: stored as is
        assert trace.info("blk.0.attn_q.weight").qtype == "Q8_0"
        with pytest.raises(InputError) as err:
            trace.read("blk.0.attn_q.weight")
    message = str(err.value)
    assert "\n" not in message and message.startswith(str(path))
    assert "'blk.0.attn_q.weight'" in message and "big-endian" in message


def test_a_file_cut_short_after_opening_is_one_line(tmp_path):
    path = tmp_path / "cut.gguf"
    write_model(path, 10, quantized=False)
    trace = open_trace(path)
    with open(path, "r+b") as fh:
        fh.truncate(path.stat().st_size - 64)
    with pytest.raises(InputError) as err:
        trace.read("output_norm.weight")  # the last tensor written: its end is gone
    assert "\n" not in str(err.value) and "cannot read tensor 'output_norm.weight'" in str(
        err.value)


@pytest.mark.parametrize("value", [7, "not json", json.dumps({"a": 1}), json.dumps([1, 2])])
def test_an_order_field_that_is_no_list_of_names_is_one_line(tmp_path, value):
    writer = gguf.GGUFWriter(str(tmp_path / "o.gguf"), "llama")
    if isinstance(value, int):
        writer.add_uint32("audioparity.order", value)
    else:
        writer.add_string("audioparity.order", value)
    writer.add_tensor("w", np.ones((2, 4), np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(InputError, match="audioparity.order field is not a JSON list"):
        open_trace(tmp_path / "o.gguf")


@pytest.mark.parametrize("length", [2 ** 63 + 5, 2 ** 64 - 9])
def test_a_token_length_past_any_offset_is_one_line(tmp_path, length):
    """A token's length so large that the next token's offset overflows a C offset: refused
    as past the end of the file, not an OverflowError."""
    path = tmp_path / "v.gguf"
    write_model(path, 10, quantized=False)
    data = bytearray(path.read_bytes())
    first = data.index(b"tok0") - 8  # the first token's u64 length
    data[first:first + 8] = length.to_bytes(8, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(InputError) as err:
        open_trace(path)
    assert "\n" not in str(err.value) and "runs past the end of the file" in str(err.value)
