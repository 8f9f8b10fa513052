"""missing_norm, norm_eps (torch RMSNorm/LayerNorm, Qwen3 per-head q/k norm) and
rope_variant (HF Qwen3 ``apply_rotary_pos_emb`` vs an interleaved port)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers.models.qwen3.modeling_qwen3 import (
    Qwen3Config,
    Qwen3RMSNorm,
    Qwen3RotaryEmbedding,
    apply_rotary_pos_emb,
)

from audioparity.explain import ExplainContext, explain_pair


def _ctx(name: str, **tensors: np.ndarray) -> ExplainContext:
    ref = {f"{name}:{k}": v for k, v in tensors.items()}
    return ExplainContext(name=name, get_ref=ref.get)


def _qwen3_q(heads: int = 4, t: int = 24, d: int = 32, seed: int = 0):
    """q after q_proj, split into heads [B, H, T, D] with uneven per-row energy."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(1, heads, t, d, generator=g) * (0.2 + 3 * torch.rand(1, heads, t, 1,
                                                                               generator=g))


def _qwen3_norm(d: int = 32) -> Qwen3RMSNorm:
    norm = Qwen3RMSNorm(d, eps=1e-6)
    with torch.no_grad():
        norm.weight.copy_(1 + 0.1 * torch.randn(d))
    return norm


def test_qwen2_style_port_without_q_norm_is_missing_norm_from_input():
    q = _qwen3_q()
    ref = _qwen3_norm()(q).detach().numpy()
    port = q.numpy()                                  # Qwen2: no q_norm
    top = explain_pair(ref, port, _ctx("attn.q_norm", in0=q.numpy()))[0]
    assert top.cause == "missing_norm"
    assert top.params["norm"] == "RMSNorm" and top.params["side"] == "port skips it"
    assert top.params["method"] == "input"


def test_missing_q_norm_seen_after_rope_from_outputs_only():
    cfg = Qwen3Config(hidden_size=128, num_attention_heads=4, head_dim=32)
    q = _qwen3_q()
    pos = torch.arange(q.shape[2])[None]
    cos, sin = Qwen3RotaryEmbedding(cfg)(q, pos)
    ref, _ = apply_rotary_pos_emb(_qwen3_norm()(q), q, cos, sin)
    port, _ = apply_rotary_pos_emb(q, q, cos, sin)
    top = explain_pair(ref.detach().numpy(), port.numpy())[0]
    assert top.cause == "missing_norm" and top.params["side"] == "port skips it"


def test_port_adding_a_layernorm_is_missing_norm_the_other_way():
    x = torch.randn(2, 30, 64) * 2 + 0.5
    ln = torch.nn.LayerNorm(64)
    top = explain_pair(x.numpy(), ln(x).detach().numpy(), _ctx("block.norm", in0=x.numpy()))[0]
    assert top.cause == "missing_norm"
    assert top.params["side"] == "port adds it" and top.params["norm"] == "LayerNorm"


@pytest.mark.parametrize(("eps_ref", "eps_port"), [(1e-5, 1e-3), (1e-12, 1e-5)])
def test_layernorm_eps_difference_is_norm_eps_with_fitted_eps(eps_ref, eps_port):
    torch.manual_seed(0)
    x = torch.randn(96, 48) * torch.logspace(-3.5, 0, 96)[:, None]
    ref = torch.nn.LayerNorm(48, eps=eps_ref)(x).detach().numpy()
    port = torch.nn.LayerNorm(48, eps=eps_port)(x).detach().numpy()
    top = explain_pair(ref, port, _ctx("ln", in0=x.numpy()))[0]
    assert top.cause == "norm_eps"
    assert top.params["norm"] == "LayerNorm"
    assert top.params["eps_port"] == pytest.approx(eps_port, rel=0.01)


def test_rmsnorm_eps_difference_is_norm_eps():
    torch.manual_seed(1)
    x = torch.randn(2, 40, 32) * torch.logspace(-3, 0, 40)[None, :, None]
    ref = torch.nn.RMSNorm(32, eps=1e-6)(x).detach().numpy()
    port = torch.nn.RMSNorm(32, eps=1e-4)(x).detach().numpy()
    top = explain_pair(ref, port, _ctx("norm", in0=x.numpy()))[0]
    assert top.cause == "norm_eps" and top.params["norm"] == "RMSNorm"
    assert top.params["eps_port"] == pytest.approx(1e-4, rel=0.01)


def _interleaved_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Candle's ``rope`` (GPT-J style): rotate pairs (2i, 2i+1) with HF's frequencies."""
    half = x.shape[-1] // 2
    c, s = cos[:, None, :, :half], sin[:, None, :, :half]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack([x0 * c - x1 * s, x1 * c + x0 * s], dim=-1).flatten(-2)


@pytest.fixture(params=[1e4, 1e6])
def rope_case(request):
    cfg = Qwen3Config(hidden_size=128, num_attention_heads=4, num_key_value_heads=2,
                      head_dim=32, rope_parameters={"rope_type": "default",
                                                    "rope_theta": request.param})
    q = torch.randn(1, 4, 20, 32)
    cos, sin = Qwen3RotaryEmbedding(cfg)(q, torch.arange(20)[None])
    ref, _ = apply_rotary_pos_emb(q, q[:, :2], cos, sin)
    return q, cos, sin, ref, _interleaved_rope(q, cos, sin), request.param


def test_interleaved_rope_named_from_recorded_inputs(rope_case):
    q, cos, sin, ref, port, _ = rope_case
    name = "model.layers.0.self_attn.apply_rotary_pos_emb"
    ctx = _ctx(name, in0=q.numpy(), in2=cos.numpy(), in3=sin.numpy())
    top = explain_pair(ref.numpy(), port.numpy(), ctx)[0]
    assert top.cause == "rope_variant"
    assert (top.params["ref"], top.params["port"]) == ("half-split", "interleaved")
    assert "recorded input and cos/sin" in top.detail


def test_interleaved_rope_named_from_outputs_only_with_estimated_base(rope_case):
    _, _, _, ref, port, theta = rope_case
    top = explain_pair(ref.numpy(), port.numpy())[0]
    assert top.cause == "rope_variant"
    assert top.params["port"] == "interleaved" and top.params["ref_base"] == theta
    assert "outputs only" in top.detail


def test_rope_on_k_output_uses_in1():
    cfg = Qwen3Config(hidden_size=128, num_attention_heads=4, head_dim=32)
    q, k = torch.randn(1, 4, 12, 32), torch.randn(1, 2, 12, 32)
    cos, sin = Qwen3RotaryEmbedding(cfg)(q, torch.arange(12)[None])
    _, ref_k = apply_rotary_pos_emb(q, k, cos, sin)
    name = "attn.apply_rotary_pos_emb"
    ctx = ExplainContext(name=f"{name}:out1", get_ref={
        f"{name}:in0": q.numpy(), f"{name}:in1": k.numpy(), f"{name}:in2": cos.numpy(),
        f"{name}:in3": sin.numpy()}.get)
    top = explain_pair(ref_k.numpy(), _interleaved_rope(k, cos, sin).numpy(), ctx)[0]
    assert top.cause == "rope_variant" and "recorded input" in top.detail


def test_wrong_rope_theta_is_rope_variant_base():
    q = torch.randn(1, 2, 16, 64)
    tabs = {}
    for theta in (1e4, 1e6):
        cfg = Qwen3Config(hidden_size=128, num_attention_heads=2, head_dim=64,
                          rope_parameters={"rope_type": "default", "rope_theta": theta})
        tabs[theta] = Qwen3RotaryEmbedding(cfg)(q, torch.arange(16)[None])
    ref, _ = apply_rotary_pos_emb(q, q, *tabs[1e6])
    port, _ = apply_rotary_pos_emb(q, q, *tabs[1e4])
    top = explain_pair(ref.numpy(), port.numpy())[0]
    assert top.cause == "rope_variant"
    assert (top.params["ref_base"], top.params["port_base"]) == (1e6, 1e4)


def test_missing_q_norm_at_rope_with_inputs_recorded_on_both_sides():
    cfg = Qwen3Config(hidden_size=128, num_attention_heads=4, head_dim=32)
    q = _qwen3_q()
    cos, sin = Qwen3RotaryEmbedding(cfg)(q, torch.arange(q.shape[2])[None])
    normed = _qwen3_norm()(q).detach()
    ref, _ = apply_rotary_pos_emb(normed, normed, cos, sin)
    port, _ = apply_rotary_pos_emb(q, q, cos, sin)               # Qwen2: no q_norm
    name = "model.layers.0.self_attn.apply_rotary_pos_emb"
    ref_t = {f"{name}:in0": normed.numpy(), f"{name}:in2": cos.numpy(),
             f"{name}:in3": sin.numpy()}
    port_t = {f"{name}:in0": q.numpy(), f"{name}:in2": cos.numpy(), f"{name}:in3": sin.numpy()}
    ctx = ExplainContext(name=name, get_ref=ref_t.get, get_port=port_t.get)
    top = explain_pair(ref.numpy(), port.numpy(), ctx)[0]
    assert top.cause == "missing_norm" and top.params["side"] == "port skips it"


@pytest.mark.parametrize("port_has_norm", [False, True])
def test_q_norm_on_one_side_of_rope_found_through_the_rotation(port_has_norm):
    """Rows of even energy hide the norm from the outputs-only test; the reference's
    recorded q, cos and sin let the signature undo the rotation and see it."""
    cfg = Qwen3Config(hidden_size=128, num_attention_heads=4, head_dim=32)
    q = torch.randn(1, 4, 24, 32, generator=torch.Generator().manual_seed(3))
    cos, sin = Qwen3RotaryEmbedding(cfg)(q, torch.arange(24)[None])
    normed = _qwen3_norm()(q).detach()
    ref_in, port_in = (q, normed) if port_has_norm else (normed, q)
    ref, _ = apply_rotary_pos_emb(ref_in, ref_in, cos, sin)
    port, _ = apply_rotary_pos_emb(port_in, port_in, cos, sin)
    name = "model.layers.0.self_attn.apply_rotary_pos_emb"
    ctx = _ctx(name, in0=ref_in.numpy(), in2=cos.numpy(), in3=sin.numpy())
    assert explain_pair(ref.numpy(), port.numpy(), ExplainContext())[0].cause != "missing_norm"
    top = explain_pair(ref.numpy(), port.numpy(), ctx)[0]
    assert top.cause == "missing_norm" and top.params["method"] == "through_rotation"
    assert top.params["side"] == ("port adds it" if port_has_norm else "port skips it")


def test_long_prefill_rope_is_cropped_and_still_named():
    q = torch.randn(1, 8, 2048, 128)
    cfg = Qwen3Config(hidden_size=1024, num_attention_heads=8, head_dim=128,
                      rope_parameters={"rope_type": "default", "rope_theta": 1e6})
    cos, sin = Qwen3RotaryEmbedding(cfg)(q, torch.arange(2048)[None])
    ref, _ = apply_rotary_pos_emb(q, q, cos, sin)
    top = explain_pair(ref.numpy(), _interleaved_rope(q, cos, sin).numpy())[0]
    assert top.cause == "rope_variant" and top.params["ref_base"] == 1e6
