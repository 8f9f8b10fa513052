"""Seed 002: a HiFi-GAN generator (transformers ``SpeechT5HifiGan``: Conv1d, ConvTranspose1d,
weight norm) whose port weight file holds one Conv1d in MLX layout ``[out, k, in]`` among
PyTorch-layout ``[out, in, k]`` ones (seed 002: "346 MLX, 1 PyTorch"). The reference's
checkpoint and the port's weight file are compared as traces (weights in file order).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from zoo_common import randomize_, state_numpy, write_numpy_trace

MIXED = "resblocks.0.convs1.1.weight"


def build(workdir: Path, mixed_layout: bool = True) -> tuple[Path, Path]:
    import torch
    from transformers import SpeechT5HifiGan, SpeechT5HifiGanConfig

    cfg = SpeechT5HifiGanConfig(model_in_dim=16, upsample_initial_channel=32,
                                upsample_rates=[2, 2], upsample_kernel_sizes=[4, 4],
                                resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3]])
    torch.manual_seed(0)
    model = SpeechT5HifiGan(cfg).eval()
    model.apply_weight_norm()
    randomize_(model, seed=9)
    for module in model.modules():  # what a converter exports: weight norm fused
        if torch.nn.utils.parametrize.is_parametrized(module, "weight"):
            torch.nn.utils.parametrize.remove_parametrizations(module, "weight")
    weights = {k: v for k, v in state_numpy(model).items() if k not in ("mean", "scale")}
    ref = write_numpy_trace(workdir / "ref.safetensors", weights, "hifigan-checkpoint")
    port_weights = dict(weights)
    if mixed_layout:
        port_weights[MIXED] = np.ascontiguousarray(weights[MIXED].transpose(0, 2, 1))
    port = write_numpy_trace(workdir / "port.safetensors", port_weights, "hifigan-port-weights")
    return ref, port
