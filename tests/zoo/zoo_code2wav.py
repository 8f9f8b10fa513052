"""Seed 003: transformers ``Qwen3OmniMoeCode2Wav`` (tiny: codes (1, 4, 12) -> audio) vs a
NumPy port of its token front-end (codes -> flat indices ``code + cb * codebook_size`` ->
embedding -> mean over codebooks), the stage where seed 003's token bugs live.

Bugs: ``offset=False`` (the port forgets the per-codebook offset: every codebook reads the
first codebook's table); ``order`` (the port receives the codebooks in another order).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from zoo_common import randomize_, state_numpy, torch_trace, write_numpy_trace

CODEBOOK_SIZE, N_Q, FRAMES = 64, 4, 12


def build_reference():
    import torch
    from transformers.models.qwen3_omni_moe.configuration_qwen3_omni_moe import (
        Qwen3OmniMoeCode2WavConfig,
    )
    from transformers.models.qwen3_omni_moe.modeling_qwen3_omni_moe import Qwen3OmniMoeCode2Wav

    cfg = Qwen3OmniMoeCode2WavConfig(
        codebook_size=CODEBOOK_SIZE, hidden_size=32, max_position_embeddings=64,
        num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
        intermediate_size=64, sliding_window=8, num_quantizers=N_Q, upsample_rates=(2, 2),
        upsampling_ratios=(2,), decoder_dim=16)
    torch.manual_seed(0)
    model = Qwen3OmniMoeCode2Wav(cfg).eval()
    randomize_(model, seed=6)
    codes = torch.randint(0, CODEBOOK_SIZE, (1, N_Q, FRAMES),
                          generator=torch.Generator().manual_seed(7))
    return model, codes


def numpy_front_end(weights: dict[str, np.ndarray], codes: np.ndarray, *, offset: bool = True,
                    order: tuple[int, ...] | None = None) -> dict[str, np.ndarray]:
    """codes [B, Q, T] -> the port's dump: its codes, flat indices, embeddings [B, Q, T, H]."""
    if order is not None:
        codes = codes[:, list(order)]
    flat = codes + (np.arange(N_Q).reshape(1, -1, 1) * CODEBOOK_SIZE if offset else 0)
    emb = weights["code_embedding.weight"][flat]
    return {"output:in0": codes, "code_embedding:in0": flat, "code_embedding": emb}


def build(workdir: Path, **bug) -> tuple[Path, Path]:
    model, codes = build_reference()
    ref = torch_trace(model, workdir / "ref.safetensors", lambda: model(codes), inputs=True,
                      include=("output", "code_embedding"))
    trace = numpy_front_end(state_numpy(model), codes.numpy(), **bug)
    return ref, write_numpy_trace(workdir / "port.safetensors", trace, "code2wav-port")


# --- seed 001: the Code2Wav waveform decoder, ported to ONNX Runtime ------------------------

def decoder_tail(model):
    """The reference's upsampler + HiFi-GAN-style decoder (SnakeBeta, causal convs and
    trans-convs) as one module, named as in Code2Wav (``upsample.0.0``, ``decoder.1.block.0``)."""
    import torch

    class Code2WavTail(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.upsample, self.decoder = model.upsample, model.decoder

        def forward(self, hidden: torch.Tensor) -> torch.Tensor:
            for blocks in self.upsample:
                for block in blocks:
                    hidden = block(hidden)
            for block in self.decoder:
                hidden = block(hidden)
            return hidden

    return Code2WavTail().eval()


def _snake_with_alpha(snake) -> None:
    """SnakeBeta computed with alpha, beta where the checkpoint stores log-scale parameters
    (the reference uses exp(alpha), exp(beta))."""
    import types

    import torch

    def forward(self, x):
        alpha = self.alpha.unsqueeze(0).unsqueeze(-1)
        beta = self.beta.unsqueeze(0).unsqueeze(-1)
        return x + (1.0 / (beta.exp() + self.no_div_by_zero)) * torch.pow(torch.sin(x * alpha), 2)

    snake.forward = types.MethodType(forward, snake)


def _trim_left(trans_conv) -> None:
    """CausalTransConv1d trimming all of ``kernel - stride`` on the left, none on the right."""
    trans_conv.left_pad, trans_conv.right_pad = trans_conv.left_pad + trans_conv.right_pad, 0


def build_decoder(workdir: Path, bug: str | None = None) -> tuple[Path, Path]:
    """Reference: torch capture (inputs recorded); port: the same decoder with ``bug``
    ("snake_alpha" or "trim_left") exported with ``torch.onnx.export(dynamo=True)`` and run in
    ONNX Runtime, traced by the ORT source."""
    import copy

    import torch

    from audioparity.sources.onnxruntime_source import capture_onnx

    model, _ = build_reference()
    ref = decoder_tail(model)
    hidden = torch.randn(1, 32, FRAMES, generator=torch.Generator().manual_seed(8))
    ref_path = torch_trace(ref, workdir / "ref.safetensors", lambda: ref(hidden), inputs=True)
    port = copy.deepcopy(ref)
    if bug == "snake_alpha":
        _snake_with_alpha(port.decoder[1].block[0])
    elif bug == "trim_left":
        _trim_left(port.decoder[1].block[1])
    onnx_path = workdir / "port.onnx"
    torch.onnx.export(port, (hidden,), onnx_path, dynamo=True, input_names=["hidden"],
                      verbose=False)
    port_path = workdir / "port.safetensors"
    capture_onnx(onnx_path, {"hidden": hidden.numpy()}, port_path)
    return ref_path, port_path
