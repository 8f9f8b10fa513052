"""A small conv stack in PyTorch (``condnet``: Conv1d, ELU module, Conv1d, ELU module,
Conv1d) and ports of it that number their children differently: a PyTorch port that calls
ELU as a function, and an MLX port (channels-last, ``Sequential`` children under
``.layers.N``). Same weights on every side."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch
from torch import nn

from audioparity.sources.torch_capture import capture
from audioparity.trace import write_trace

CHANNELS, FRAMES = 8, 16


class RefNet(nn.Module):
    """Reference: activations are modules, so they take child numbers."""

    def __init__(self) -> None:
        super().__init__()
        self.condnet = nn.Sequential(nn.Conv1d(CHANNELS, 16, 3, padding=1), nn.ELU(),
                                     nn.Conv1d(16, 16, 3, padding=1), nn.ELU(),
                                     nn.Conv1d(16, CHANNELS, 1))
        self.out = nn.Conv1d(CHANNELS, CHANNELS, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.condnet(x))


class PortNet(nn.Module):
    """Port: ELU called as a function, so ``condnet.1`` is the second conv."""

    def __init__(self, ref: RefNet, bug_scale: float = 1.0) -> None:
        super().__init__()
        convs = [copy.deepcopy(m) for m in ref.condnet if isinstance(m, nn.Conv1d)]
        with torch.no_grad():  # the planted bug: the second conv's output scaled
            convs[1].weight.mul_(bug_scale)
            convs[1].bias.mul_(bug_scale)
        self.condnet = nn.ModuleList(convs)
        self.out = copy.deepcopy(ref.out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.nn.functional.elu(self.condnet[0](x))
        x = torch.nn.functional.elu(self.condnet[1](x))
        return self.out(self.condnet[2](x))


def reference(seed: int = 0) -> tuple[RefNet, torch.Tensor]:
    torch.manual_seed(seed)
    return RefNet().eval(), torch.randn(1, CHANNELS, FRAMES)


def capture_torch(model: nn.Module, x: torch.Tensor, path: Path) -> Path:
    with torch.no_grad(), capture(model, path):
        model(x)
    return path


def mlx_port_trace(ref: RefNet, x: torch.Tensor, path: Path, bug_slope: float | None = None,
                   classes: bool = True) -> Path:
    """Run the net in MLX (channels-last, ``nn.Sequential`` of convs, ELU as a function) and
    write what an MLX port's own dump holds: raw MLX names and layouts, and (``classes``)
    the module classes by MLX path, as a capture records them."""
    import mlx.core as mx
    from mlx import nn as mnn

    convs = [m for m in ref.condnet if isinstance(m, nn.Conv1d)]
    seq = mnn.Sequential(*[mnn.Conv1d(c.in_channels, c.out_channels, c.kernel_size[0],
                                      padding=c.padding[0]) for c in convs])
    for mconv, tconv in zip(seq.layers, convs, strict=True):
        mconv.weight = mx.array(tconv.weight.detach().numpy().transpose(0, 2, 1))
        mconv.bias = mx.array(tconv.bias.detach().numpy())
    out = mnn.Conv1d(CHANNELS, CHANNELS, 1)
    out.weight = mx.array(ref.out.weight.detach().numpy().transpose(0, 2, 1))
    out.bias = mx.array(ref.out.bias.detach().numpy())

    def elu(v):
        if bug_slope is not None:
            return mnn.leaky_relu(v, bug_slope)
        return mnn.elu(v)

    tensors: dict[str, np.ndarray] = {}
    h = mx.array(x.numpy().transpose(0, 2, 1))
    for k, conv in enumerate(seq.layers):
        h = conv(h)
        tensors[f"condnet.layers.{k}"] = np.array(h)
        if k < len(seq.layers) - 1:
            h = elu(h)
    tensors["condnet"] = np.array(h)
    h = out(h)
    tensors["out"] = np.array(h)
    tensors["output"] = np.array(h)
    modules = {name or "output": type(m).__name__ for name, m in seq.named_modules()}
    modules = {f"condnet.{k}" if k != "output" else "condnet": v for k, v in modules.items()}
    modules["out"] = "Conv1d"
    return write_trace(path, tensors, {"modules": modules} if classes else None)
