"""activation (GELU erf vs tanh, leaky slope, SnakeBeta alpha vs exp(alpha)), clipping,
precision and nonfinite on realistic tensors from real torch ops."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audioparity.explain import ExplainContext, explain_pair


def _ctx(name: str, x: np.ndarray, port_x: np.ndarray | None = None) -> ExplainContext:
    key = f"{name}:in0"
    port = {key: x if port_x is None else port_x}
    return ExplainContext(name=name, get_ref={key: x}.get, get_port=port.get)


def test_gelu_tanh_instead_of_erf_is_activation():
    x = torch.randn(2, 64, 128) * 2
    ref = torch.nn.GELU()(x).numpy()
    port = torch.nn.GELU(approximate="tanh")(x).numpy()
    top = explain_pair(ref, port, _ctx("mlp.act", x.numpy()))[0]
    assert top.cause == "activation"
    assert (top.params["ref"], top.params["port"]) == ("gelu_erf", "gelu_tanh")


def test_leaky_relu_instead_of_relu_reports_the_slope():
    x = torch.randn(4, 32, 50)
    ref = torch.relu(x).numpy()
    port = torch.nn.functional.leaky_relu(x, 0.2).numpy()
    top = explain_pair(ref, port, _ctx("act", x.numpy()))[0]
    assert top.cause == "activation" and top.params["port"].startswith("leaky_relu(0.2")


def test_silu_vs_sigmoid_is_activation():
    x = torch.randn(8, 256)
    top = explain_pair(torch.nn.functional.silu(x).numpy(), torch.sigmoid(x).numpy(),
                       _ctx("act", x.numpy()))[0]
    assert top.cause == "activation" and top.params["port"] == "sigmoid"


def _snake_beta(x: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor, logscale: bool):
    """Qwen3-TTS / BigVGAN SnakeBeta: ``x + 1/β · sin²(α x)`` with log-scale parameters."""
    a = alpha.exp() if logscale else alpha
    b = beta.exp() if logscale else beta
    return x + 1.0 / (b[None, :, None] + 1e-9) * torch.sin(x * a[None, :, None]) ** 2


def test_snakebeta_with_alpha_instead_of_exp_alpha_is_activation():
    torch.manual_seed(0)
    channels = 12
    alpha = 0.8 + 0.3 * torch.randn(channels)       # stored as log-parameters
    beta = 0.1 * torch.randn(channels)
    x = torch.randn(1, channels, 400) * 1.5
    ref = _snake_beta(x, alpha, beta, logscale=True).numpy()
    port = _snake_beta(x, alpha, beta.exp(), logscale=False).numpy()   # alpha raw
    top = explain_pair(ref, port, _ctx("decoder.act", x.numpy()))[0]
    assert top.cause == "activation"
    assert "α where ref uses exp(α)" in top.detail
    np.testing.assert_allclose(top.params["alpha_ref"], alpha.exp().numpy(), rtol=0.05)


def test_cfg_output_hard_clipped_is_clipping_with_level():
    torch.manual_seed(0)
    audio = torch.randn(2, 8000) * 0.5                # after a CFG scale: peaks beyond 1
    ref = audio.numpy()
    port = audio.clamp(-1, 1).numpy()
    top = explain_pair(ref, port)[0]
    assert top.cause == "clipping" and top.params["kind"] == "hard"
    assert top.params["level"] == pytest.approx([-1.0, 1.0], rel=0.01)
    assert top.params["fraction"] == pytest.approx(float((np.abs(ref) > 1).mean()), rel=0.05)


def test_tanh_soft_clip_is_clipping_soft():
    torch.manual_seed(1)
    ref = (torch.randn(1, 24000) * 0.4).numpy()
    port = np.tanh(ref)
    top = explain_pair(ref, port)[0]
    assert top.cause == "clipping" and top.params["kind"] == "soft"


def test_bf16_linear_on_one_side_is_precision_only():
    torch.manual_seed(0)
    lin = torch.nn.Linear(256, 256)
    x = torch.randn(4, 32, 256)
    ref = lin(x).detach().numpy()
    port = lin.to(torch.bfloat16)(x.bfloat16()).float().detach().numpy()
    findings = explain_pair(ref, port, ExplainContext(port_dtype="bfloat16"))
    assert [f.cause for f in findings] == ["precision"]
    assert findings[0].confidence < 0.5 and findings[0].params["consistent_with"] == "bfloat16"


def test_f16_overflow_is_nonfinite_with_first_index():
    x = torch.randn(4, 64) * 300
    ref = (x * x).sum(-1, keepdim=True).numpy()
    port = (x.half() * x.half()).sum(-1, keepdim=True).float().numpy()
    assert not np.isfinite(port).all()
    top = explain_pair(ref, port)[0]
    assert top.cause == "nonfinite" and top.params["side"] == "port"
    first = tuple(top.params["first_index"])
    assert not np.isfinite(port[first])


@pytest.mark.parametrize("qtype", ["Q8_0", "Q4_0"])
def test_gguf_quantization_damage_is_precision_for_its_block_format(qtype):
    from gguf import GGMLQuantizationType
    from gguf.quants import dequantize, quantize

    q = GGMLQuantizationType[qtype]
    w = (0.05 * torch.randn(256, 512)).numpy()
    port = dequantize(quantize(w, q), q)
    findings = explain_pair(w, port, ExplainContext(port_qtype=qtype))
    assert [f.cause for f in findings] == ["precision"]
    assert findings[0].params["consistent_with"] == qtype
