"""Reading a ggml node's bytes as NumPy: strides (views, permutes), F16/BF16 widened."""

from __future__ import annotations

import numpy as np
import pytest

from audioparity.sources.llamacpp.ggml_tensor import GGML_TYPES, GGMLTensor, strided, widen


def test_permuted_view_is_read_through_its_strides():
    """A [T, H, D] tensor stored heads-first ([H, T, D] contiguous) and viewed tokens-first,
    as ggml_permute leaves it: the read gives the tokens-first values, contiguous."""
    heads_first = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    raw = heads_first.view(np.uint8).reshape(-1)
    out = strided(raw, "<f4", (3, 2, 4), (16, 48, 4))
    np.testing.assert_array_equal(out, heads_first.transpose(1, 0, 2))  # exact: a copy
    assert out.flags.c_contiguous


def test_view_inside_a_larger_buffer_reads_only_its_span():
    """A row view of a padded KV cache: stride larger than the row."""
    cache = np.arange(4 * 8, dtype=np.float32).reshape(4, 8)
    raw = cache.view(np.uint8).reshape(-1)
    out = strided(raw, "<f4", (4, 3), (32, 4))
    np.testing.assert_array_equal(out, cache[:, :3])  # exact: a copy


def test_strides_past_the_bytes_read_are_refused():
    with pytest.raises(ValueError, match="do not fit"):
        strided(np.zeros(16, np.uint8), "<f4", (2, 4), (16, 4))


def test_half_types_widen_exactly():
    x = np.array([1.5, -2.25, 65504.0], np.float16)
    np.testing.assert_array_equal(widen(x, "f16"), x.astype(np.float32))  # exact
    bf16 = (np.array([3.140625, -0.5], np.float32).view(np.uint32) >> 16).astype(np.uint16)
    assert widen(bf16, "bf16").dtype == np.float32
    np.testing.assert_array_equal(widen(bf16, "bf16"), [3.140625, -0.5])  # exact: on the grid


def test_struct_matches_the_pinned_ggml_header():
    """sizeof(struct ggml_tensor) of ggml.h at llama-cpp-python 0.3.36 on 64-bit: 336."""
    import ctypes

    assert ctypes.sizeof(GGMLTensor) == 336  # exact: a struct size
    assert GGML_TYPES[1][0] == "f16" and GGML_TYPES[30][0] == "bf16"
