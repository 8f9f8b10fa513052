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
