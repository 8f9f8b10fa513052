"""Tiny reference models for the per-layer quantization study (``--model`` factories).

Each factory returns ``(model, example_inputs)``, deterministic for a given ``seed``, with
weights drawn away from their init values (as a trained checkpoint would be):

* :func:`hifigan_vocoder` — a HiFi-GAN-style vocoder (weight-normed Conv1d, ConvTranspose1d
  upsampling, multi-receptive-field dilated residual blocks, LeakyReLU, tanh), mel in,
  waveform out (``sample_rate`` attribute set, so the study adds audio metrics);
* :func:`qwen3_lm` — a transformers ``Qwen3ForCausalLM`` with a small config, token ids in,
  logits out;
* :func:`llama_lm` — the same for ``LlamaForCausalLM`` (the GGUF architecture whose Q/K rows
  llama.cpp's converter permutes).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

LRELU_SLOPE = 0.1


class ResBlock(nn.Module):
    """HiFi-GAN ResBlock1: dilated convs, each followed by a non-dilated one, residual."""

    def __init__(self, channels: int, kernel_size: int, dilations: tuple[int, ...]):
        super().__init__()
        self.convs1 = nn.ModuleList(
            weight_norm(nn.Conv1d(channels, channels, kernel_size, dilation=d,
                                  padding=d * (kernel_size - 1) // 2)) for d in dilations)
        self.convs2 = nn.ModuleList(
            weight_norm(nn.Conv1d(channels, channels, kernel_size,
                                  padding=(kernel_size - 1) // 2)) for _ in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for c1, c2 in zip(self.convs1, self.convs2):
            y = c1(nn.functional.leaky_relu(x, LRELU_SLOPE))
            x = x + c2(nn.functional.leaky_relu(y, LRELU_SLOPE))
        return x


class HiFiGANVocoder(nn.Module):
    """HiFi-GAN generator (V1 topology, narrow): mel ``[B, n_mels, T]`` to audio
    ``[B, 1, T·hop]`` with hop = prod(upsample_rates) samples."""

    def __init__(self, n_mels: int = 80, channels: int = 64,
                 upsample_rates: tuple[int, ...] = (8, 8, 4),
                 resblock_kernels: tuple[int, ...] = (3, 7),
                 dilations: tuple[int, ...] = (1, 3, 5), sample_rate: int = 24000):
        super().__init__()
        self.sample_rate = sample_rate
        self.conv_pre = weight_norm(nn.Conv1d(n_mels, channels, 7, padding=3))
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        ch = channels
        for rate in upsample_rates:
            self.ups.append(weight_norm(nn.ConvTranspose1d(ch, ch // 2, 2 * rate, rate,
                                                           padding=rate // 2)))
            ch //= 2
            for k in resblock_kernels:
                self.resblocks.append(ResBlock(ch, k, dilations))
        self.num_kernels = len(resblock_kernels)
        self.conv_post = weight_norm(nn.Conv1d(ch, 1, 7, padding=3))

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.conv_pre(mel)
        for i, up in enumerate(self.ups):
            x = up(nn.functional.leaky_relu(x, LRELU_SLOPE))
            blocks = self.resblocks[i * self.num_kernels:(i + 1) * self.num_kernels]
            x = sum(block(x) for block in blocks) / self.num_kernels
        return torch.tanh(self.conv_post(nn.functional.leaky_relu(x)))


def randomize_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Draw every parameter away from its init: weights N(0, 1/fan_in), norms 1 + 0.1·N,
    biases and 1-D tensors 0.1·N, weight-norm magnitudes g = 1 + 0.1·N."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            if name.endswith(("original0", "weight_g")):
                p.copy_(1 + 0.1 * noise)
            elif p.ndim >= 2:
                fan = p.shape[1] * (p[0, 0].numel() if p.ndim > 2 else 1)
                p.copy_(noise / fan ** 0.5)
            elif "norm" in name:
                p.copy_(1 + 0.1 * noise)
            else:
                p.copy_(0.1 * noise)
    return model


def hifigan_vocoder(seed: int = 0) -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    """A HiFi-GAN-style vocoder (~0.3 M parameters) and a mel input of 24 frames (hop 256)."""
    torch.manual_seed(seed)
    model = randomize_(HiFiGANVocoder(), seed).eval()
    gen = torch.Generator().manual_seed(seed + 1)
    mel = torch.randn(1, 80, 24, generator=gen) - 4.0  # log-mel-like level
    return model, (mel,)


def qwen3_lm(seed: int = 0) -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    """A transformers Qwen3 causal LM (2 layers, hidden 64, GQA 4/2 heads, q/k norm) and
    32 random token ids."""
    from transformers import Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(seed)
    config = Qwen3Config(vocab_size=512, hidden_size=64, intermediate_size=192,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         head_dim=16, max_position_embeddings=128, tie_word_embeddings=False)
    model = randomize_(Qwen3ForCausalLM(config), seed).eval()
    gen = torch.Generator().manual_seed(seed + 1)
    ids = torch.randint(0, config.vocab_size, (1, 32), generator=gen)
    return model, (ids,)


def llama_lm(seed: int = 0) -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    """A transformers Llama causal LM (2 layers, hidden 64, GQA 4/2 heads of 16, RoPE base
    500000, RMS eps 1e-5) and 32 random token ids."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=512, hidden_size=64, intermediate_size=192,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         head_dim=16, max_position_embeddings=128, rope_theta=500000.0,
                         rms_norm_eps=1e-5, tie_word_embeddings=False)
    model = randomize_(LlamaForCausalLM(config), seed).eval()
    gen = torch.Generator().manual_seed(seed + 1)
    ids = torch.randint(0, config.vocab_size, (1, 32), generator=gen)
    return model, (ids,)
