"""Real codec decoders for the decoder probes: transformers ``DacModel`` and ``MimiModel``
(tiny configs, random weights) decoding codes ``[B, Q, T]`` to audio, and ports of the DAC
decoder with planted bugs."""

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
    """The reference decoder as a probe callable (``--ref-callable codec_decoders.py:reference_decode``)."""
    return decode_with(_cached_reference())(tokens), SR


MIMI = {"hidden_size": 32, "num_filters": 4, "upsampling_ratios": [2, 2, 2, 2],
        "sampling_rate": 16000, "frame_rate": 500.0, "codebook_size": 16, "codebook_dim": 8,
        "num_quantizers": 3, "vector_quantization_hidden_dimension": 8,
        "num_semantic_quantizers": 1, "upsample_groups": 32, "num_hidden_layers": 1,
        "intermediate_size": 64, "num_attention_heads": 2, "num_key_value_heads": 2,
        "head_dim": 16, "sliding_window": 250}


def mimi_reference():
    """A tiny transformers ``MimiModel`` (SEANet decoder behind a sliding-window
    transformer; hop 32 samples at 16 kHz) with random weights and codebooks."""
    from transformers import MimiConfig, MimiModel

    torch.manual_seed(0)
    model = MimiModel(MimiConfig(**MIMI)).eval()
    gen = torch.Generator().manual_seed(31)
    with torch.no_grad():
        for name, p in model.named_parameters():
            is_norm = "norm" in name and name.endswith("weight")
            p.copy_(float(is_norm) + 0.2 * torch.randn(p.shape, generator=gen))
        for name, buf in model.named_buffers():
            if name.endswith("embed_sum"):
                buf.copy_(torch.randn(buf.shape, generator=gen))
            elif name.endswith("cluster_usage"):
                buf.copy_(0.5 + torch.rand(buf.shape, generator=gen))
    return model


def mimi_decode_with(model, dtype: torch.dtype = torch.float32):
    """``tokens [B, Q, T] -> audio [B, 1, N]`` through ``MimiModel.decode``."""
    model = model.to(dtype)

    def decode(tokens: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model.decode(torch.from_numpy(np.asarray(tokens))).audio_values.float().numpy()

    return decode
