"""A real codec decoder for the decoder probes: transformers ``DacModel`` (tiny config,
random weights) decoding codes ``[B, Q, T]`` to audio, and ports of it with planted bugs."""

from __future__ import annotations

import copy
import functools

import numpy as np
import torch
from transformers import DacConfig, DacModel

HF = {"encoder_hidden_size": 4, "downsampling_ratios": [2, 4], "decoder_hidden_size": 16,
      "n_codebooks": 3, "codebook_size": 32, "codebook_dim": 4, "hidden_size": 16,
      "upsampling_ratios": [4, 2], "sampling_rate": 16000}
CODEBOOKS, CODEBOOK_SIZE, SR = HF["n_codebooks"], HF["codebook_size"], HF["sampling_rate"]
FRAMES = 600  # hop 8: 0.3 s


def reference() -> DacModel:
    """The reference: a tiny ``DacModel`` with weights drawn away from their init and zero
    biases (so the audio depends on the tokens, not on biases; peak about -37 dBFS)."""
    torch.manual_seed(0)
    model = DacModel(DacConfig(**HF)).eval()
    gen = torch.Generator().manual_seed(21)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(0.0 * p if name.endswith("bias") else
                    0.1 * torch.randn(p.shape, generator=gen))
    return model


def decode_with(model: DacModel, dtype: torch.dtype = torch.float32):
    """``tokens [B, Q, T] -> audio [B, N]`` through ``model.decode`` (a probe callable)."""
    model = model.to(dtype)

    def decode(tokens: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            out = model.decode(audio_codes=torch.from_numpy(np.asarray(tokens)))
        return out.audio_values.float().numpy()

    return decode


def correct_port(ref: DacModel):
    """A correct port: the same weights, computed in float64."""
    return decode_with(copy.deepcopy(ref), torch.float64)


def conv_layout_port(ref: DacModel):
    """The decoder's first conv weight stored ``[out, k, in]`` and read as ``[out, in, k]``
    (MLX vs PyTorch Conv1d layout, reshaped instead of transposed)."""
    port = copy.deepcopy(ref)
    with torch.no_grad():
        w = port.decoder.conv1.weight
        w.copy_(w.detach().permute(0, 2, 1).reshape(w.shape).clone())
    return decode_with(port)


def token_axes_port(ref: DacModel):
    """A decoder that receives ``[B, T, Q]`` codes but reshapes them to ``[B, Q, T]``
    instead of transposing: frames and codebooks are interleaved."""
    decode = decode_with(copy.deepcopy(ref))

    def port(tokens: np.ndarray) -> np.ndarray:
        b, q, t = tokens.shape
        as_stored = np.ascontiguousarray(tokens.transpose(0, 2, 1))  # the talker's [B, T, Q]
        return decode(as_stored.reshape(b, q, t))

    return port


def reference_tokens(seed: int = 1) -> np.ndarray:
    """Codes the reference's talker would emit: ``[1, Q, T]`` in range."""
    return np.random.default_rng(seed).integers(0, CODEBOOK_SIZE, size=(1, CODEBOOKS, FRAMES))


def save_weights(model: DacModel, path) -> str:
    """The model's weights as a safetensors file (what a port loads)."""
    from safetensors.torch import save_file

    save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, str(path))
    return str(path)


@functools.lru_cache(maxsize=1)
def _cached_reference() -> DacModel:
    return reference()


def reference_decode(tokens: np.ndarray) -> tuple[np.ndarray, int]:
    """The reference decoder as a probe callable (``--ref-callable codec.py:reference_decode``)."""
    return decode_with(_cached_reference())(tokens), SR
