"""A four-component TTS in the shape of Qwen3-TTS (seed 001), and a NumPy port of it.

Reference (torch): a speaker embedding comes from a preset table (``voices``) or, when a
reference mel is given (voice cloning), from the ``speaker_encoder`` (Conv1d, ReLU, mean
over time, Linear, tanh); the ``talker`` (embedding + GRU whose initial state is the speaker
embedding) turns text ids into hidden states; the ``code_predictor`` (Linear, argmax per
codebook) picks codec tokens; the ``decoder`` (a sum of per-codebook embeddings, a
ConvTranspose1d upsampler, tanh) makes audio.

The NumPy port reimplements every component from the reference's weights and runs them
through an override ``hook`` (the :class:`audioparity.isolate.CallablePort` protocol). Its
one planted bug, ``sum_pool``, pools the speaker encoder's frames with a sum instead of a
mean: preset voices stay right, the cloned voice is garbled (seed 001).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

VOCAB, DIM, N_MELS, N_VOICES = 32, 16, 8, 3
CODEBOOKS, CODES, UPSAMPLE = 2, 16, 4
TEXT_LEN, MEL_FRAMES = 12, 20


class SpeakerEncoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(N_MELS, DIM, 3, padding=1)
        self.proj = nn.Linear(DIM, DIM)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.proj(torch.relu(self.conv(mel)).mean(dim=-1)))


class Talker(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, DIM)
        self.gru = nn.GRU(DIM, DIM, batch_first=True)

    def forward(self, ids: torch.Tensor, speaker: torch.Tensor) -> torch.Tensor:
        hidden, _ = self.gru(self.embed(ids), speaker[None])
        return hidden


class CodePredictor(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(DIM, CODEBOOKS * CODES)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        logits = self.head(hidden).unflatten(-1, (CODEBOOKS, CODES))
        return logits.argmax(-1).transpose(1, 2)  # (B, codebooks, T)


class Decoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.codebooks = nn.ModuleList(nn.Embedding(CODES, DIM) for _ in range(CODEBOOKS))
        self.up = nn.ConvTranspose1d(DIM, 1, 2 * UPSAMPLE, stride=UPSAMPLE,
                                     padding=UPSAMPLE // 2)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        latent = sum(book(codes[:, i]) for i, book in enumerate(self.codebooks))
        return torch.tanh(self.up(latent.transpose(1, 2)))[:, 0]


class MiniTTS(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.voices = nn.Embedding(N_VOICES, DIM)
        self.speaker_encoder = SpeakerEncoder()
        self.talker = Talker()
        self.code_predictor = CodePredictor()
        self.decoder = Decoder()

    def forward(self, ids: torch.Tensor, mel: torch.Tensor | None = None) -> torch.Tensor:
        if mel is None:
            speaker = self.voices(torch.zeros(ids.shape[0], dtype=torch.long))
        else:
            speaker = self.speaker_encoder(mel)
        return self.decoder(self.code_predictor(self.talker(ids, speaker)))


def reference() -> MiniTTS:
    torch.manual_seed(3)
    model = MiniTTS().eval()
    gen = torch.Generator().manual_seed(4)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=gen))
    return model


def text_ids() -> torch.Tensor:
    return torch.randint(0, VOCAB, (1, TEXT_LEN), generator=torch.Generator().manual_seed(7))


def mel() -> torch.Tensor:
    return torch.randn(1, N_MELS, MEL_FRAMES, generator=torch.Generator().manual_seed(8))


def capture_reference(model: MiniTTS, path: Path, clone: bool) -> Path:
    from audioparity.sources.torch_capture import capture

    with torch.no_grad(), capture(model, path, inputs=True):
        model(text_ids(), mel() if clone else None)
    return path


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class NumpyMiniTTS:
    """The port: each component a method on NumPy arrays, ``forward`` passes their outputs
    through ``hook``."""

    def __init__(self, model: MiniTTS, bugs: tuple[str, ...] = ()):
        self.w = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
        self.bugs = bugs

    def voices(self, index: np.ndarray) -> np.ndarray:
        return self.w["voices.weight"][index]

    def speaker_encoder(self, mel: np.ndarray) -> np.ndarray:
        w, b = self.w["speaker_encoder.conv.weight"], self.w["speaker_encoder.conv.bias"]
        x = np.pad(mel, ((0, 0), (0, 0), (1, 1)))
        frames = np.stack([x[..., k:k + mel.shape[-1]] for k in range(3)], axis=-1)
        h = np.maximum(np.einsum("bitk,oik->bot", frames, w) + b[:, None], 0.0)
        pooled = h.sum(-1) if "sum_pool" in self.bugs else h.mean(-1)
        return np.tanh(pooled @ self.w["speaker_encoder.proj.weight"].T
                       + self.w["speaker_encoder.proj.bias"])

    def talker(self, ids: np.ndarray, speaker: np.ndarray) -> np.ndarray:
        x = self.w["talker.embed.weight"][ids]
        w_ih, w_hh = self.w["talker.gru.weight_ih_l0"], self.w["talker.gru.weight_hh_l0"]
        b_ih, b_hh = self.w["talker.gru.bias_ih_l0"], self.w["talker.gru.bias_hh_l0"]
        h, out = speaker, []
        for t in range(x.shape[1]):
            gi, gh = x[:, t] @ w_ih.T + b_ih, h @ w_hh.T + b_hh
            (ir, iz, inn), (hr, hz, hn) = np.split(gi, 3, -1), np.split(gh, 3, -1)
            r, z = _sigmoid(ir + hr), _sigmoid(iz + hz)
            h = (1 - z) * np.tanh(inn + r * hn) + z * h
            out.append(h)
        return np.stack(out, 1).astype(np.float32)

    def code_predictor(self, hidden: np.ndarray) -> np.ndarray:
        logits = hidden @ self.w["code_predictor.head.weight"].T + self.w["code_predictor.head.bias"]
        return logits.reshape(*hidden.shape[:2], CODEBOOKS, CODES).argmax(-1).transpose(0, 2, 1)

    def decoder(self, codes: np.ndarray) -> np.ndarray:
        latent = sum(self.w[f"decoder.codebooks.{i}.weight"][codes[:, i]]
                     for i in range(CODEBOOKS))  # (B, T, D)
        w, k = self.w["decoder.up.weight"][:, 0], 2 * UPSAMPLE  # (D, k)
        steps = latent.shape[1]
        full = np.zeros((latent.shape[0], (steps - 1) * UPSAMPLE + k), np.float32)
        for t in range(steps):
            full[:, t * UPSAMPLE:t * UPSAMPLE + k] += latent[:, t] @ w
        pad = UPSAMPLE // 2
        return np.tanh(full[:, pad:full.shape[1] - pad] + self.w["decoder.up.bias"])

    def forward(self, ids: np.ndarray, mel: np.ndarray | None = None,
                hook=lambda name, value: value) -> np.ndarray:
        if mel is None:
            speaker = hook("voices", self.voices(np.zeros(ids.shape[0], np.int64)))
        else:
            speaker = hook("speaker_encoder", self.speaker_encoder(mel))
        hidden = hook("talker", self.talker(ids, speaker))
        codes = hook("code_predictor", self.code_predictor(hidden))
        return hook("decoder", self.decoder(codes))

    def as_port(self):
        from audioparity.isolate import CallablePort

        names = ("voices", "speaker_encoder", "talker", "code_predictor", "decoder")
        return CallablePort({n: getattr(self, n) for n in names}, forward=self.forward)
