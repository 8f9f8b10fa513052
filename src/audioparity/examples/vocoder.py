"""A Vocos-style ISTFT vocoder head in PyTorch: hidden states -> magnitude/phase -> audio.

Like ``vocos.heads.ISTFTHead`` (the Soprano decoder's head, seed 000): a linear layer
predicts ``n_fft/2 + 1`` log-magnitudes and as many phases per frame; the waveform is the
inverse STFT with a Hann window and **"same" padding**: overlap-add of the windowed frames,
``(win_length - hop_length) / 2`` samples trimmed on each side, divided by the window
envelope, so ``T`` frames give ``T * hop_length`` samples. (``torch.istft(center=True)``
would trim ``n_fft / 2`` instead; that difference is the seed's padding bug.)
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class ISTFT(nn.Module):
    """Inverse STFT with "same" padding (as ``vocos.spectral_ops.ISTFT(padding="same")``).

    Input: complex spectrogram ``(B, n_fft/2 + 1, T)``; output: audio ``(B, T * hop_length)``.
    """

    def __init__(self, n_fft: int, hop_length: int):
        super().__init__()
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        pad = (self.n_fft - self.hop_length) // 2
        frames = spec.shape[-1]
        # irfft's "backward" norm already divides by n_fft: no further 1/n_fft scaling
        ifft = torch.fft.irfft(spec, self.n_fft, dim=1, norm="backward")
        ifft = ifft * self.window[None, :, None]
        length = (frames - 1) * self.hop_length + self.n_fft
        fold = {"output_size": (1, length), "kernel_size": (1, self.n_fft),
                "stride": (1, self.hop_length)}
        audio = F.fold(ifft, **fold)[:, 0, 0, pad:-pad]
        window_sq = self.window.square().expand(1, frames, -1).transpose(1, 2)
        envelope = F.fold(window_sq, **fold).squeeze()[pad:-pad]
        return audio / envelope


class VocosHead(nn.Module):
    """Hidden states ``(B, T, dim_in)`` -> audio ``(B, T * hop_length)``.

    ``conv`` (Conv1d, kernel 3, over time) -> ``norm`` (LayerNorm) -> ``out`` (Linear to
    ``n_fft + 2``) -> magnitude ``exp`` clipped at 100 and phase -> ``istft``.
    """

    def __init__(self, dim_in: int, dim: int, n_fft: int, hop_length: int):
        super().__init__()
        self.conv = nn.Conv1d(dim_in, dim, kernel_size=3, padding=1)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.out = nn.Linear(dim, n_fft + 2)
        self.istft = ISTFT(n_fft, hop_length)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        x = self.conv(hidden.transpose(1, 2)).transpose(1, 2)
        x = self.out(self.norm(x)).transpose(1, 2)
        log_mag, phase = x.chunk(2, dim=1)
        mag = torch.exp(log_mag).clamp(max=100.0)
        spec = torch.complex(mag * torch.cos(phase), mag * torch.sin(phase))
        return self.istft(spec)
