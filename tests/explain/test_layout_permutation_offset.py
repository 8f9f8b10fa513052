"""layout (Conv1d/ConvTranspose1d weights in MLX layout), permutation (codebooks, heads),
offset (per-codebook token offsets)."""

from __future__ import annotations

import numpy as np
import torch

from audioparity.explain import ExplainContext, explain_pair


def test_conv1d_weight_in_mlx_layout_read_as_torch_is_layout_021():
    conv = torch.nn.Conv1d(16, 24, kernel_size=5)
    ref = conv.weight.detach().numpy()                      # [out, in, k]
    mlx_bytes = np.ascontiguousarray(ref.transpose(0, 2, 1))  # MLX [out, k, in]
    port = mlx_bytes.reshape(ref.shape)                     # read with torch's shape
    top = explain_pair(ref, port)[0]
    assert top.cause == "layout"
    assert top.params["perm"] == [0, 2, 1] and top.params["reinterpreted"] is True
    assert "MLX" in top.hint


def test_conv_transpose_weight_transposed_is_layout_120():
    conv = torch.nn.ConvTranspose1d(16, 12, kernel_size=7)
    ref = conv.weight.detach().numpy()                      # [in, out, k]
    port = np.ascontiguousarray(ref.transpose(1, 2, 0))     # MLX [out, k, in]
    top = explain_pair(ref, port)[0]
    assert top.cause == "layout" and top.params["perm"] == [1, 2, 0]
    assert top.params["reinterpreted"] is False and "ConvTranspose1d" in top.hint


def test_conv1d_output_in_btc_instead_of_bct_is_layout():
    conv = torch.nn.Conv1d(8, 32, 3, padding=1)
    ref = conv(torch.randn(2, 8, 100)).detach().numpy()      # [B, C, T]
    port = np.ascontiguousarray(ref.transpose(0, 2, 1))      # [B, T, C]
    top = explain_pair(ref, port)[0]
    assert top.cause == "layout" and top.params["perm"] == [0, 2, 1]


def test_codebooks_in_wrong_order_is_permutation_with_order():
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 2048, size=(1, 8, 60))             # [B, n_q, T]
    order = [0, 1, 3, 2, 4, 5, 7, 6]
    top = explain_pair(ref, ref[:, order])[0]
    assert top.cause == "permutation"
    assert top.params["axis"] == 1 and top.params["order"] == order


def test_gqa_repeat_interleave_vs_tile_is_permutation_of_heads():
    kv = torch.randn(1, 2, 10, 16)                           # 2 kv heads, 4 q heads
    ref = kv.repeat_interleave(2, dim=1).numpy()             # [0, 0, 1, 1]
    port = kv.repeat(1, 2, 1, 1).numpy()                     # [0, 1, 0, 1]
    top = explain_pair(ref, port)[0]
    assert top.cause == "permutation" and top.params["axis"] == 1
    np.testing.assert_array_equal(ref[:, top.params["order"]], port)


def test_per_codebook_offset_cb_times_4096_is_offset_with_step():
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 4096, size=(1, 40, 8))             # [B, T, n_q]
    port = ref + np.arange(8) * 4096
    top = explain_pair(ref, port)[0]
    assert top.cause == "offset"
    assert top.params["axis"] == 2 and top.params["step"] == 4096
    assert top.params["offsets"] == [cb * 4096 for cb in range(8)]


def test_constant_token_offset():
    ref = np.random.default_rng(3).integers(0, 1000, size=(4, 50))
    top = explain_pair(ref, ref + 3)[0]
    assert top.cause == "offset" and top.params["offsets"] == [3]


def test_conv_output_wrong_because_its_weight_is_in_mlx_layout_names_the_weight():
    torch.manual_seed(0)
    conv = torch.nn.Conv1d(32, 32, 7, padding=3)
    with torch.no_grad():
        conv.weight.mul_(3.0)
    w = conv.weight.detach().numpy()
    misread = torch.from_numpy(np.ascontiguousarray(w.transpose(0, 2, 1)).reshape(w.shape))
    x = torch.randn(1, 32, 100)
    ref = conv(x).detach().numpy()
    port = torch.nn.functional.conv1d(x, misread, conv.bias, padding=3).detach().numpy()
    name = "generator.ups.0"
    ref_t = {f"{name}.weight": w, f"{name}:in0": x.numpy()}
    port_t = {f"{name}.weight": misread.numpy(), f"{name}:in0": x.numpy()}
    ctx = ExplainContext(name=name, module_type="Conv1d", get_ref=ref_t.get,
                         get_port=port_t.get, previous_ok=True)
    top = explain_pair(ref, port, ctx)[0]
    assert top.cause == "layout" and top.params["perm"] == [0, 2, 1]
    assert top.params["tensor"] == f"{name}.weight"
