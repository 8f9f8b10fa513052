"""fit_snake on real Snake modules: DAC's ``Snake1d`` and Qwen3-Omni's ``SnakeBeta``
parameters recovered to float32 precision on channels longer than the grid's strided
subsample (where the refinement runs too), and where SnakeBeta's error is nearly flat in
``alpha`` (small frequencies: ``sin²(a·x)/b ≈ a²x²/b``)."""

from __future__ import annotations

import numpy as np
import torch
from transformers.models.dac.modeling_dac import Snake1d
from transformers.models.qwen3_omni_moe.modeling_qwen3_omni_moe import Qwen3OmniMoeSnakeBeta

from audioparity.explain.snake_math import fit_snake


def _snake1d(alpha: torch.Tensor, x: torch.Tensor) -> np.ndarray:
    snake = Snake1d(alpha.numel())
    with torch.no_grad():
        snake.alpha.copy_(alpha.view(1, -1, 1))
        return snake(x).numpy()


def _snake_beta(log_alpha: torch.Tensor, log_beta: torch.Tensor, x: torch.Tensor,
                dtype: torch.dtype = torch.float32) -> np.ndarray:
    snake = Qwen3OmniMoeSnakeBeta(log_alpha.numel()).to(dtype)
    with torch.no_grad():
        snake.alpha.copy_(log_alpha)
        snake.beta.copy_(log_beta)
        return snake(x).numpy()


def test_dac_snake1d_alphas_are_recovered_on_long_channels():
    torch.manual_seed(0)
    # trained Snake alphas: small, negative, around 1, and large (phase up to ~130 rad)
    alpha = torch.tensor([-0.45, -0.08, 0.02, 0.3, 1.0, 2.7, 7.5, 15.0])
    x = torch.randn(1, alpha.numel(), 20000) * 2   # 20,000 samples: the grid sees every 39th
    fit = fit_snake(x.numpy(), _snake1d(alpha, x))
    assert fit.tied
    np.testing.assert_allclose(fit.a, alpha.numpy(), rtol=1e-5)   # signed: k = 1/a
    assert fit.residual < 1e-5


def test_qwen3_snakebeta_alpha_and_beta_are_recovered_on_long_channels():
    torch.manual_seed(1)
    log_alpha = torch.tensor([-1.0, -0.3, 0.0, 0.4, 1.2, 2.0])
    log_beta = torch.tensor([-0.5, 0.2, 0.0, 0.8, -1.0, 0.3])
    x = torch.randn(1, log_alpha.numel(), 20000) * 1.5
    fit = fit_snake(x.numpy(), _snake_beta(log_alpha, log_beta, x))
    assert not fit.tied
    np.testing.assert_allclose(fit.a, log_alpha.exp().numpy(), rtol=1e-5)
    np.testing.assert_allclose(fit.b, log_beta.exp().numpy(), rtol=1e-5)
    assert fit.residual < 1e-5


def test_small_snakebeta_frequencies_are_recovered_where_the_error_is_nearly_flat():
    # frequencies 0.0015-0.04 (a port that forgets exp() on log-scale alphas sees such
    # curves): sin²(a·x)/b ≈ a²x²/b, so along a²/b = const the error changes by ~1e-11 of
    # the signal, less than a float32 d·d - 2k·s·d + k²·s·s ranking of the grid can resolve;
    # a float64 module's output pins a and b all the same
    torch.manual_seed(2)
    log_alpha = torch.tensor([-6.5, -6.0, -5.5, -5.0, -4.0, -3.2], dtype=torch.float64)
    log_beta = torch.tensor([0.3, -0.2, 0.0, 0.1, -0.3, 0.2], dtype=torch.float64)
    x = torch.randn(1, log_alpha.numel(), 600, dtype=torch.float64) * 1.5
    y = _snake_beta(log_alpha, log_beta, x, dtype=torch.float64)
    fit = fit_snake(x.numpy(), y, tied=False)
    np.testing.assert_allclose(fit.a, log_alpha.exp().numpy(), rtol=1e-4)
    np.testing.assert_allclose(fit.b, log_beta.exp().numpy(), rtol=1e-4)
