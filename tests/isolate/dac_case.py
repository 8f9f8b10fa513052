"""A tiny transformers ``DacModel`` (encoder -> residual VQ -> decoder) and torch ports of it
with planted bugs, one early (encoder) and one late (decoder).

The port is the reference's module tree with the buggy parts swapped for the port's own
implementations, as a torch port reusing most of the library would be:

- ``snake_exp`` (early): the first encoder residual unit's Snake reads its log-scale
  ``alpha`` as ``exp(alpha)`` (seed 001's SnakeBeta) -> component ``encoder``
- ``conv_flipped`` (late): the decoder's last convolution loads its kernel reversed along
  time (a convolution written as a flipped cross-correlation) -> component ``decoder``
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
BUGS = {"snake_exp": "encoder", "conv_flipped": "decoder"}


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


def flipped_conv(conv: nn.Conv1d) -> nn.Conv1d:
    """A plain Conv1d holding ``conv``'s weight reversed along the kernel axis."""
    out = nn.Conv1d(conv.in_channels, conv.out_channels, conv.kernel_size[0],
                    padding=conv.padding[0])
    with torch.no_grad():
        out.weight.copy_(conv.weight.flip(-1))
        out.bias.copy_(conv.bias)
    return out


def port(ref: nn.Module, bugs: tuple[str, ...]) -> nn.Module:
    """A copy of ``ref`` with the named bugs planted."""
    model = copy.deepcopy(ref)
    if "snake_exp" in bugs:
        unit = model.encoder.block[0].res_unit1
        unit.snake1 = SnakeExp(unit.snake1.alpha)
    if "conv_flipped" in bugs:
        model.decoder.conv2 = flipped_conv(model.decoder.conv2)
    return model.eval()


def capture_reference(model: nn.Module, path: Path, inputs: bool = True) -> Path:
    """The reference trace (inputs recorded unless told otherwise)."""
    from audioparity.sources.torch_capture import capture

    with torch.no_grad(), capture(model, path, inputs=inputs):
        model(audio())
    return path
