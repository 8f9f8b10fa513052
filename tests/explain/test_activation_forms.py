"""activation forms real ports get wrong: DAC's Snake1d with ``exp(alpha)`` (and the reverse,
BigVGAN's ``alpha_logscale`` forgotten), ELU with another ``alpha``, a leaky slope; and an
activation called as a function (no entry of its own), fitted between the previous recorded
tensor and the next module's input through ``compare_traces``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audioparity.compare import compare_traces
from audioparity.explain import ExplainContext, explain_pair
from audioparity.sources.torch_capture import capture


def _ctx(name: str, x: np.ndarray) -> ExplainContext:
    return ExplainContext(name=name, get_ref={f"{name}:in0": x}.get)


def _dac_snake(alpha: torch.Tensor):
    from transformers.models.dac.modeling_dac import Snake1d

    snake = Snake1d(alpha.numel())
    with torch.no_grad():
        snake.alpha.copy_(alpha.view(1, -1, 1))
    return snake


def test_dac_snake1d_with_exp_alpha_is_named_with_the_fitted_alphas():
    torch.manual_seed(0)
    alpha = 0.3 * torch.randn(16)        # trained Snake alphas can be small or negative
    x = torch.randn(1, 16, 64) * 2
    with torch.no_grad():
        ref = _dac_snake(alpha)(x).numpy()
        port = _dac_snake(alpha.exp())(x).numpy()   # the port exponentiates a plain alpha
    top = explain_pair(ref, port, _ctx("decoder.block.0.snake1", x.numpy()))[0]
    assert top.cause == "activation" and top.confidence > 0.8
    assert top.params["relation"] == "port uses exp(α) where ref uses α"
    assert top.params["ref"] == "snake"
    np.testing.assert_allclose(top.params["alpha_ref"], alpha.numpy(), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(top.params["alpha_port"], alpha.exp().numpy(), rtol=1e-3)


def test_snake_with_alpha_where_the_reference_exponentiates_is_named_the_other_way():
    torch.manual_seed(1)
    log_alpha = 0.5 * torch.randn(8)
    x = torch.randn(2, 8, 100)
    with torch.no_grad():
        ref = _dac_snake(log_alpha.exp())(x).numpy()   # alpha_logscale: exp(α) used
        port = _dac_snake(log_alpha)(x).numpy()         # the port forgets the exp
    top = explain_pair(ref, port, _ctx("act", x.numpy()))[0]
    assert top.cause == "activation"
    assert top.params["relation"] == "port uses α where ref uses exp(α)"
    assert "exp()" in top.hint
    np.testing.assert_allclose(top.params["alpha_port"], log_alpha.numpy(), rtol=1e-3,
                               atol=1e-4)


def test_snake_alphas_that_are_not_exp_related_are_named_with_lower_confidence():
    torch.manual_seed(2)
    alpha = 1.0 + 0.2 * torch.rand(8)
    x = torch.randn(1, 8, 128)
    with torch.no_grad():
        ref = _dac_snake(alpha)(x).numpy()
        port = _dac_snake(alpha * 1.5)(x).numpy()
    top = explain_pair(ref, port, _ctx("act", x.numpy()))[0]
    assert top.cause == "activation" and top.params["relation"] == "Snake α differs per channel"
    assert top.confidence < 0.7
    np.testing.assert_allclose(top.params["alpha_port"], (alpha * 1.5).numpy(), rtol=1e-3)


def test_elu_with_another_alpha_gives_both_alphas():
    x = torch.randn(2, 32, 80) * 2
    ref = torch.nn.ELU()(x).numpy()
    port = torch.nn.ELU(alpha=0.5)(x).numpy()
    top = explain_pair(ref, port, _ctx("decoder.layers.2", x.numpy()))[0]
    assert top.cause == "activation"
    assert (top.params["ref"], top.params["alpha_ref"]) == ("elu", 1.0)
    assert top.params["alpha_port"] == pytest.approx(0.5, rel=1e-3)
    assert "alpha=1" in top.hint


def test_leaky_relu_with_another_slope_gives_both_slopes():
    x = torch.randn(4, 64)
    ref = torch.nn.LeakyReLU(0.01)(x).numpy()
    port = torch.nn.LeakyReLU(0.2)(x).numpy()
    top = explain_pair(ref, port, _ctx("act", x.numpy()))[0]
    assert top.cause == "activation"
    assert top.params["slope_ref"] == pytest.approx(0.01, rel=1e-2)
    assert top.params["slope_port"] == pytest.approx(0.2, rel=1e-3)


def test_elu_alpha_is_not_claimed_when_the_port_scales_the_output():
    x = torch.randn(2, 16, 64)
    ref = torch.nn.ELU()(x).numpy()
    causes = explain_pair(ref, ref * 0.5, _ctx("act", x.numpy()))
    assert causes[0].cause == "scale"
    assert all(c.cause != "activation" for c in causes)


# --- an activation called as a function: no entry, fitted from the previous tensor --------

class _ConvBlock(torch.nn.Module):
    """conv -> functional activation -> conv, the activation a plain function call."""

    def __init__(self, act):
        super().__init__()
        torch.manual_seed(0)
        self.conv1 = torch.nn.Conv1d(8, 16, 3, padding=1)
        self.conv2 = torch.nn.Conv1d(16, 8, 3, padding=1)
        self.act = act

    def forward(self, x):
        return self.conv2(self.act(self.conv1(x)))


def _traces(tmp_path, ref_act, port_act):
    x = torch.randn(1, 8, 200, generator=torch.Generator().manual_seed(3))
    paths = []
    for side, act in (("ref", ref_act), ("port", port_act)):
        model = _ConvBlock(act).eval()
        path = tmp_path / f"{side}.safetensors"
        with torch.no_grad(), capture(model, path, inputs=True):
            model(x)
        paths.append(path)
    return paths


def test_functional_gelu_is_fitted_between_the_previous_tensor_and_the_next_input(tmp_path):
    ref, port = _traces(tmp_path, torch.nn.functional.gelu,
                        lambda h: torch.nn.functional.gelu(h, approximate="tanh"))
    first = compare_traces(ref, port).first_divergence
    assert first.name == "conv2:in0"
    top = first.causes[0]
    assert top.cause == "activation"
    assert (top.params["ref"], top.params["port"]) == ("gelu_erf", "gelu_tanh")
    assert top.params["previous"] == "conv1" and "conv1" in top.detail


def test_functional_elu_alpha_is_fitted_from_the_previous_tensor(tmp_path):
    ref, port = _traces(tmp_path, torch.nn.functional.elu,
                        lambda h: torch.nn.functional.elu(h, alpha=0.3))
    top = compare_traces(ref, port).first_divergence.causes[0]
    assert top.cause == "activation" and top.params["fitted_between"] == "previous"
    assert top.params["alpha_port"] == pytest.approx(0.3, rel=1e-3)


def test_a_scaled_input_after_a_functional_activation_is_not_called_activation(tmp_path):
    ref, port = _traces(tmp_path, torch.nn.functional.gelu,
                        lambda h: 0.5 * torch.nn.functional.gelu(h))
    causes = compare_traces(ref, port).first_divergence.causes
    assert causes[0].cause == "scale"
    assert all(c.cause != "activation" for c in causes)


def test_previous_tensor_is_not_used_when_it_diverges_too():
    x = np.random.default_rng(0).normal(size=(4, 64))
    prev_ref, prev_port = x, x * 1.1
    ctx = ExplainContext(name="b:in0", get_ref={"a": prev_ref}.get,
                         get_port={"a": prev_port}.get, previous_name="a", previous_ok=False)
    causes = explain_pair(np.tanh(prev_ref), np.tanh(prev_port), ctx)
    assert all(c.cause != "activation" for c in causes)
