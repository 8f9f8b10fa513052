"""The GGUF header read every llama.cpp capture starts with: fast on a real-size vocabulary,
and what ``gguf.GGUFReader`` reads, key for key and tensor for tensor.

``GGUFReader`` parses every item of every array (a 150k-token list takes it seconds);
:func:`read_gguf_layout` steps over long arrays by their lengths. Neither needs llama.cpp.
"""

from __future__ import annotations

import math
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from audioparity.errors import InputError
from audioparity.sources.llamacpp.gguf_header import read_header
from audioparity.trace.gguf_layout import LongArray, read_gguf_layout

N_TOKENS = 150_000


def _write(path: Path, n_tokens: int, *, tensors: bool = True, arch: str = "qwen3",
           extra=None) -> Path:
    """A GGUF as a converter writes one: sizes, per-layer array, floats, a vocabulary."""
    import gguf

    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_name("vocab test")
    writer.add_block_count(2)
    writer.add_embedding_length(64)
    writer.add_head_count(4)
    writer.add_head_count_kv([2, 1])  # per layer
    writer.add_rope_freq_base(1e6)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_bool("audioparity.flag", True)
    writer.add_int64("audioparity.big", -(2 ** 40))
    writer.add_float64("audioparity.f64", 0.1)
    writer.add_array("audioparity.floats", [0.5, -2.25, 1e-3])
    writer.add_token_list([f"t{i}" for i in range(n_tokens)])
    writer.add_token_types([gguf.TokenType.NORMAL] * n_tokens)
    for key, value in (extra or {}).items():
        writer.add_string(key, value)
    if tensors:
        rng = np.random.default_rng(0)
        writer.add_tensor("token_embd.weight", rng.standard_normal((8, 64)).astype(np.float32))
        q = gguf.quants.quantize(rng.standard_normal((4, 64)).astype(np.float32),
                                 gguf.GGMLQuantizationType.Q8_0)
        writer.add_tensor("blk.0.attn_q.weight", q, raw_shape=q.shape,
                          raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture(scope="module")
def vocab(tmp_path_factory):
    """A 150k-token GGUF, gguf.GGUFReader's parse of it and the seconds that took."""
    import gguf

    path = _write(tmp_path_factory.mktemp("vocab") / "vocab.gguf", N_TOKENS)
    start = time.perf_counter()
    reader = gguf.GGUFReader(path)
    return path, reader, time.perf_counter() - start


def _same(a, b) -> bool:
    """Equal decoded values (NaN equal to NaN: a damaged float is still the same bytes)."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b  # exact: the same bytes decoded


def assert_agrees_with_gguf_reader(path: Path, reader) -> None:
    """Every key's value (an array's length when it is not decoded) and every tensor's
    type, dimensions, data offset and size are the ones ``GGUFReader`` reads."""
    layout = read_gguf_layout(path)
    fields = {k: f for k, f in reader.fields.items() if not k.startswith("GGUF.")}
    assert list(layout.metadata) == list(fields)
    for key, value in layout.metadata.items():
        field = fields[key]
        if isinstance(value, LongArray):
            assert value.length == len(field.data), key
            assert value.item_type == field.types[-1], key
            continue
        try:
            expected = field.contents()
        except UnicodeDecodeError:  # gguf decodes only when asked; the layout keeps bytes
            assert isinstance(value, (bytes, list)), key
            continue
        assert _same(value, expected), (key, value, expected)
    assert [t.name for t in layout.tensors] == [t.name for t in reader.tensors]
    for mine, theirs in zip(layout.tensors, reader.tensors):
        assert mine.ggml_type == theirs.tensor_type
        assert mine.dims == tuple(theirs.shape.tolist())
        assert (mine.offset, mine.n_bytes) == (theirs.data_offset, theirs.n_bytes)
    assert layout.data_offset == reader.data_offset


def test_a_150k_token_vocabulary_reads_what_gguf_reader_reads(vocab):
    path, reader, _ = vocab
    assert_agrees_with_gguf_reader(path, reader)
    layout = read_gguf_layout(path)
    assert layout.metadata["tokenizer.ggml.tokens"] == LongArray(8, N_TOKENS)
    assert layout.metadata["qwen3.attention.head_count_kv"] == [2, 1]


def test_a_150k_token_vocabulary_is_read_ten_times_faster_than_gguf_reader(vocab):
    path, _, reader_s = vocab
    start = time.perf_counter()
    header = read_header(path)
    header_s = time.perf_counter() - start
    assert header.n_vocab == N_TOKENS
    assert header_s * 10 < reader_s, (header_s, reader_s)


def test_the_header_keeps_the_memory_estimates_facts(vocab):
    path, reader, _ = vocab
    header = read_header(path)
    assert (header.architecture, header.name) == ("qwen3", "vocab test")
    assert (header.n_layer, header.n_embd, header.n_head_kv, header.head_dim) == (2, 64, 2, 16)
    assert header.weight_bytes == sum(int(t.n_bytes) for t in reader.tensors)
    assert header.weight_bytes == 8 * 64 * 4 + 4 * 2 * 34  # F32, then Q8_0 blocks of 32


def test_without_a_token_list_the_vocabulary_size_is_the_metadatas(tmp_path):
    import gguf

    path = tmp_path / "novocab.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_vocab_size(32000)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    assert read_header(path).n_vocab == 32000


def _one_line_refusal(path: Path, needle: str) -> None:
    with pytest.raises(InputError) as err:
        read_header(path)
    assert "\n" not in str(err.value) and str(err.value).startswith(str(path))
    assert needle in str(err.value)


def _patched(path: Path, after: bytes, fmt: str, value, shift: int = 0) -> Path:
    """``path`` with the integer just after ``after`` (+ ``shift`` bytes) set to ``value``."""
    data = bytearray(path.read_bytes())
    at = data.index(after) + len(after) + shift
    data[at:at + struct.calcsize(fmt)] = struct.pack(fmt, value)
    out = path.with_name(f"patched-{len(list(path.parent.iterdir()))}.gguf")
    out.write_bytes(bytes(data))
    return out


@pytest.mark.parametrize("length", [2 ** 62, 10 ** 6, 2 ** 64 - 1])
def test_a_token_list_longer_than_the_file_is_refused_at_once(tmp_path, length):
    path = _write(tmp_path / "v.gguf", 1000)
    # key, value type ARRAY (u32), item type STRING (u32), then the length
    bad = _patched(path, b"tokenizer.ggml.tokens", "<Q", length, shift=8)
    start = time.perf_counter()
    _one_line_refusal(bad, "cannot fit")
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize(("patch", "needle"), [
    ((b"GGUF", "<I", 1), "GGUF version 1 is not supported"),
    ((b"tokenizer.ggml.tokens", "<Q", 2 ** 40, 16), "runs past the end"),
    ((b"token_embd.weight", "<I", 99, 4 + 16), "unknown type 99"),
    ((b"token_embd.weight", "<Q", 2 ** 30, 4), "runs past the end of the file"),
    ((b"blk.0.attn_q.weight", "<Q", 40, 4), "not whole blocks of 32"),
    ((b"general.name", "<I", 13), "unknown value type 13"),
])
def test_damaged_headers_are_one_line(tmp_path, patch, needle):
    """A version gguf cannot read, a token's length past the end, an unknown tensor type,
    tensor data past the end, a quantized row not a whole number of blocks, a value type
    that does not exist."""
    _one_line_refusal(_patched(_write(tmp_path / "v.gguf", 100), *patch), needle)


@pytest.mark.parametrize(("data", "needle"), [
    (b"", "empty file"), (b"GGU", "GGUF magic invalid"), (b"GGUF\x03", "runs past the end"),
    (b"hello, I am text", "GGUF magic invalid"), (b"GGUF\x03\x00\x00\x00", "runs past the end"),
])
def test_what_is_no_gguf_is_one_line(tmp_path, data, needle):
    (tmp_path / "x.gguf").write_bytes(data)
    _one_line_refusal(tmp_path / "x.gguf", "not a GGUF file llama.cpp can load")
    _one_line_refusal(tmp_path / "x.gguf", needle)


def test_a_duplicate_key_or_a_bad_alignment_is_one_line(tmp_path):
    path = _write(tmp_path / "v.gguf", 10, extra={"audioparity.a": "x", "audioparity.b": "y"})
    data = path.read_bytes().replace(b"audioparity.b", b"audioparity.a")
    (tmp_path / "dup.gguf").write_bytes(data)
    _one_line_refusal(tmp_path / "dup.gguf", "duplicate metadata key 'audioparity.a'")

    import gguf

    writer = gguf.GGUFWriter(str(tmp_path / "align.gguf"), "llama")
    writer.add_uint32("general.alignment", 48)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.close()
    _one_line_refusal(tmp_path / "align.gguf", "general.alignment 48 is no UINT32 power of two")


def test_a_size_that_is_no_number_is_one_line(tmp_path):
    import gguf

    writer = gguf.GGUFWriter(str(tmp_path / "s.gguf"), "llama")
    writer.add_string("llama.block_count", "twelve")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.close()
    _one_line_refusal(tmp_path / "s.gguf", "llama.block_count is not a number")


def test_every_truncation_and_mutation_is_refused_or_read_as_gguf_reader_reads(tmp_path):
    """Damage in the header: each cut and 400 random overwrites (bytes, lengths, type ids)
    are refused in one line, or read to the values ``GGUFReader`` reads from them."""
    import gguf

    seed = _write(tmp_path / "seed.gguf", 40).read_bytes()
    rng = np.random.default_rng(0)
    cases = [seed[:n] for n in range(0, len(seed), 7)]
    for _ in range(400):
        data = bytearray(seed)
        at = int(rng.integers(0, min(len(seed), 1500)))
        width = int(rng.choice([1, 4, 8]))
        value = int(rng.choice([0, 1, 7, 13, 255, 2 ** 31, 2 ** 32 - 1, 2 ** 63,
                                int(rng.integers(0, 2 ** 63))]))
        data[at:at + width] = (value % (1 << (8 * width))).to_bytes(width, "little")
        cases.append(bytes(data))
    outcomes = {"read": 0, "refused": 0}
    for i, data in enumerate(cases):
        path = tmp_path / f"case{i}.gguf"
        path.write_bytes(data)
        try:
            read_gguf_layout(path)
        except ValueError:
            _one_line_refusal(path, "not a GGUF file llama.cpp can load")
            outcomes["refused"] += 1
            continue
        # the counts are bounded by the file now: gguf reads it in time, and the same way
        assert_agrees_with_gguf_reader(path, gguf.GGUFReader(path))
        outcomes["read"] += 1
    assert min(outcomes.values()) > 20, outcomes  # both kinds of case were exercised
