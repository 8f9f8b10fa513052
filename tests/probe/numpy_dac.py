"""A NumPy port of transformers' ``DacModel.decode`` (codes → audio), reading the
reference's weights from a safetensors file: what a port in another runtime looks like to
the decoder probes. One sequence ``[Q, T]`` at a time."""

from __future__ import annotations

import math

import numpy as np
from safetensors.numpy import load_file


def conv1d(x: np.ndarray, w: np.ndarray, b: np.ndarray, padding: int = 0,
           dilation: int = 1) -> np.ndarray:
    """PyTorch ``Conv1d`` on ``x [C, T]`` with ``w [out, in, k]``."""
    x = np.pad(x, ((0, 0), (padding, padding)))
    k = w.shape[2]
    frames = x.shape[1] - dilation * (k - 1)
    out = sum(w[:, :, i] @ x[:, i * dilation: i * dilation + frames] for i in range(k))
    return out + b[:, None]


def conv_transpose1d(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int,
                     padding: int) -> np.ndarray:
    """PyTorch ``ConvTranspose1d`` on ``x [C, T]`` with ``w [in, out, k]``."""
    k, frames = w.shape[2], x.shape[1]
    full = np.zeros((w.shape[1], (frames - 1) * stride + k), dtype=x.dtype)
    for i in range(k):
        full[:, i: i + stride * frames: stride] += w[:, :, i].T @ x
    return full[:, padding: full.shape[1] - padding] + b[:, None]


def snake(x: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha.reshape(-1, 1)
    return x + np.reciprocal(a + 1e-9) * np.sin(a * x) ** 2


class NumpyDac:
    """``decode(codes [Q, T]) -> audio [N]`` with the weights of a ``DacModel``."""

    def __init__(self, weights_path: str, upsampling_ratios: list[int]):
        self.w = load_file(weights_path)
        self.ratios = upsampling_ratios

    def _conv(self, name: str, x: np.ndarray, padding: int = 0, dilation: int = 1):
        return conv1d(x, self.w[f"{name}.weight"], self.w[f"{name}.bias"], padding, dilation)

    def _residual(self, name: str, x: np.ndarray, dilation: int) -> np.ndarray:
        y = self._conv(f"{name}.conv1", snake(x, self.w[f"{name}.snake1.alpha"]),
                       padding=3 * dilation, dilation=dilation)
        return x + self._conv(f"{name}.conv2", snake(y, self.w[f"{name}.snake2.alpha"]))

    def decode(self, codes: np.ndarray) -> np.ndarray:
        x = 0.0
        for q in range(codes.shape[0]):
            latent = self.w[f"quantizer.quantizers.{q}.codebook.weight"][codes[q]].T
            x = x + self._conv(f"quantizer.quantizers.{q}.out_proj", latent)
        x = self._conv("decoder.conv1", x, padding=3)
        for j, stride in enumerate(self.ratios):
            block = f"decoder.block.{j}"
            x = snake(x, self.w[f"{block}.snake1.alpha"])
            x = conv_transpose1d(x, self.w[f"{block}.conv_t1.weight"],
                                 self.w[f"{block}.conv_t1.bias"], stride, math.ceil(stride / 2))
            for k, dilation in enumerate((1, 3, 9)):
                x = self._residual(f"{block}.res_unit{k + 1}", x, dilation)
        x = self._conv("decoder.conv2", snake(x, self.w["decoder.snake1.alpha"]), padding=3)
        return np.tanh(x[0]).astype(np.float32)
