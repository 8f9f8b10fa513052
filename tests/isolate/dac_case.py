"""A tiny transformers ``DacModel`` (encoder -> residual VQ -> decoder) and torch ports of it
with planted bugs, one early (encoder) and one late (decoder).

The port is the reference's module tree with the buggy parts swapped for the port's own
implementations, as a torch port reusing most of the library would be:

- ``snake_exp`` (early): the first encoder residual unit's Snake reads its log-scale
  ``alpha`` as ``exp(alpha)`` (seed 001's SnakeBeta) -> component ``encoder``
- ``convt_shift`` (late): the second decoder block's transposed convolution trims one
  sample too many on the left and one too few on the right (output shifted by a sample)
  -> component ``decoder``
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch
from torch import nn

HF = {"encoder_hidden_size": 4, "downsampling_ratios": [2, 4], "decoder_hidden_size": 16,
      "n_codebooks": 3, "codebook_size": 32, "codebook_dim": 4, "hidden_size": 16,
      "upsampling_ratios": [4, 2], "sampling_rate": 16000}
SAMPLES = 256
#: bug -> (component, innermost module, cause the catalogue names there)
BUGS = {"snake_exp": ("encoder", "encoder.block.0.res_unit1.snake1", "activation"),
        "convt_shift": ("decoder", "decoder.block.1.conv_t1", "shift")}


def reference() -> nn.Module:
    """The tiny ``DacModel`` with weights away from init (Snake ``alpha`` around 1)."""
    from transformers import DacConfig, DacModel

    torch.manual_seed(0)
    model = DacModel(DacConfig(**HF)).eval()
    gen = torch.Generator().manual_seed(21)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            p.copy_((1 + 0.3 * noise).abs() if name.endswith("alpha") else 0.3 * noise)
    return model


def audio() -> torch.Tensor:
    """``[1, 1, SAMPLES]``: two tones and a little noise."""
    t = np.arange(SAMPLES) / HF["sampling_rate"]
    y = 0.4 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 1870 * t)
    y = y + 0.05 * np.random.default_rng(5).standard_normal(SAMPLES)
    return torch.tensor(y, dtype=torch.float32).reshape(1, 1, SAMPLES)


class SnakeExp(nn.Module):
    """The port's Snake: ``x + sin(e^a x)^2 / e^a`` where the reference uses ``a`` itself."""

    def __init__(self, alpha: torch.Tensor):
        super().__init__()
        self.alpha = nn.Parameter(alpha.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.alpha.exp()
        return x + (a + 1e-9).reciprocal() * torch.sin(a * x).pow(2)


class ShiftedTrim(nn.Module):
    """The port's transposed convolution: padding one less than the reference's, then both
    extra samples trimmed on the left (the output is one sample late)."""

    def __init__(self, conv: nn.ConvTranspose1d):
        super().__init__()
        self.conv = nn.ConvTranspose1d(conv.in_channels, conv.out_channels,
                                       conv.kernel_size[0], stride=conv.stride[0],
                                       padding=conv.padding[0] - 1)
        with torch.no_grad():
            self.conv.weight.copy_(conv.weight)
            self.conv.bias.copy_(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)[..., 2:]


def port(ref: nn.Module, bugs: tuple[str, ...]) -> nn.Module:
    """A copy of ``ref`` with the named bugs planted."""
    model = copy.deepcopy(ref)
    if "snake_exp" in bugs:
        unit = model.encoder.block[0].res_unit1
        unit.snake1 = SnakeExp(unit.snake1.alpha)
    if "convt_shift" in bugs:
        block = model.decoder.block[1]
        block.conv_t1 = ShiftedTrim(block.conv_t1)
    return model.eval()


def capture_reference(model: nn.Module, path: Path, inputs: bool = True) -> Path:
    """The reference trace (inputs recorded unless told otherwise)."""
    from audioparity.sources.torch_capture import capture

    with torch.no_grad(), capture(model, path, inputs=inputs):
        model(audio())
    return path
