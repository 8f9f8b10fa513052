"""The seed 002 situation rebuilt from a real module (Chatterbox S3Gen-like, tiny).

``S3GenLike``: a token encoder (Embedding, Linear, LayerNorm), a flow decoder under
``decoder.estimator`` (Conv1d with kernel 3, one with ``in == kernel_size`` so shape cannot
tell its layout, one with ``kernel_size=1``, a square Linear), and a HiFi-GAN vocoder with
weight norm (``parametrizations``) and a ConvTranspose1d upsampler.

``mlx_port_state`` converts its state dict the way seed 002's port did, bugs included:
Conv1d weights to MLX ``[out,k,in]`` except one left in PyTorch layout (transposed twice),
ConvTranspose1d to ``[out,k,in]`` with its own transpose, the ``decoder.estimator.`` prefix
written as ``decoder.``, and weight norm in all three spellings.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from audioparity.weights.models import HiFiGANVocoder, randomize_

ODD_CONV = "decoder.estimator.mid.weight"  # left in PyTorch layout by the buggy converter


class Estimator(nn.Module):
    def __init__(self, ch: int = 16, n_mels: int = 8):
        super().__init__()
        self.down = nn.Conv1d(ch, 2 * ch, 3, padding=1)
        self.mid = nn.Conv1d(2 * ch, 2 * ch, 3, padding=1)
        self.pointwise = nn.Conv1d(2 * ch, 3, 1)                  # kernel_size=1
        self.square_k = nn.Conv1d(3, 2 * ch, 3, padding=1)        # in == kernel_size == 3
        self.proj = nn.Linear(2 * ch, 2 * ch)                     # square
        self.out = nn.Conv1d(2 * ch, n_mels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.mid(torch.relu(self.down(x))))
        h = self.square_k(self.pointwise(h))
        h = self.proj(h.transpose(1, 2)).transpose(1, 2)
        return self.out(torch.relu(h))


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.estimator = Estimator()


class S3GenLike(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(64, 16)
        self.encoder_proj = nn.Linear(16, 16)
        self.encoder_norm = nn.LayerNorm(16)
        self.decoder = Decoder()
        self.vocoder = HiFiGANVocoder(n_mels=8, channels=16, upsample_rates=(4,),
                                      resblock_kernels=(3,), dilations=(1, 3))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.encoder_norm(self.encoder_proj(self.embed(tokens)))
        mel = self.decoder.estimator(h.transpose(1, 2))
        return self.vocoder(mel)


def build_reference(seed: int = 0) -> tuple[nn.Module, torch.Tensor]:
    torch.manual_seed(seed)
    model = randomize_(S3GenLike(), seed).eval()
    tokens = torch.randint(0, 64, (1, 12), generator=torch.Generator().manual_seed(seed + 1))
    return model, tokens


def state_arrays(model: nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def _fuse(g: np.ndarray, v: np.ndarray) -> np.ndarray:
    norm = np.sqrt((v.astype(np.float64) ** 2).sum(axis=(1, 2), keepdims=True))
    return (g * v / norm).astype(np.float32)


def mlx_port_state(ref: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Seed 002's converter, with its bugs (see the module docstring)."""
    port: dict[str, np.ndarray] = {}
    wn = {}
    for name, arr in ref.items():
        if ".parametrizations.weight.original" in name:
            wn.setdefault(name.split(".parametrizations.")[0], {})[name[-1]] = arr
            continue
        out = name.replace("decoder.estimator.", "decoder.")
        if arr.ndim == 3 and name != ODD_CONV:
            arr = arr.transpose(0, 2, 1)
        port[out] = np.ascontiguousarray(arr)
    for module, parts in wn.items():
        g, v = parts["0"], parts["1"]
        is_transpose = ".ups." in module
        perm = (1, 2, 0) if is_transpose else (0, 2, 1)
        if is_transpose:  # fused by the converter
            port[f"{module}.weight"] = np.ascontiguousarray(_fuse(g, v).transpose(perm))
        elif module == "vocoder.conv_pre":  # old torch spelling
            port[f"{module}.weight_g"] = g
            port[f"{module}.weight_v"] = np.ascontiguousarray(v.transpose(perm))
        else:
            port[f"{module}.parametrizations.weight.original0"] = g
            port[f"{module}.parametrizations.weight.original1"] = np.ascontiguousarray(
                v.transpose(perm))
    return port


