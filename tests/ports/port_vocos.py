"""Vocos (mel variant): a torch Vocos built from the ``vocos`` classes shipped in soprano-tts
(``VocosBackbone`` + ``ISTFTHead``; the ``vocos`` package itself imports torchaudio) vs
mlx-audio's ``mlx_audio.codec.models.vocos.Vocos`` loaded with its own
``Vocos.from_pretrained`` from a folder holding the torch ``state_dict`` and ``config.yaml``
(mlx-audio converts the conv weights itself).

The correct port diverges at ``head`` on its own (mlx-audio's ISTFT normalisation; its head
also returns audio without the batch axis). Planted bugs:

- ``gelu_tanh``: the second ConvNeXt block's GELU is the tanh approximation
  -> ``backbone.convnext.1.act``
- ``embed_layout``: the backbone's input conv weight keeps torch's ``[out, in, k]`` bytes read
  with MLX's shape ``[out, k, in]`` (one tensor left unconverted) -> ``backbone.embed``
"""

from __future__ import annotations

from pathlib import Path

import yaml
from port_common import Bug, mlx_trace, randomize_, torch_trace
from port_soprano import import_soprano_vocos

CONFIG = {
    "feature_extractor": {"class_path": "vocos.feature_extractors.MelSpectrogramFeatures",
                          "init_args": {"sample_rate": 24000, "n_fft": 1024, "hop_length": 256,
                                        "n_mels": 24, "padding": "center"}},
    "backbone": {"class_path": "vocos.models.VocosBackbone",
                 "init_args": {"input_channels": 24, "dim": 32, "intermediate_dim": 64,
                               "num_layers": 2}},
    "head": {"class_path": "vocos.heads.ISTFTHead",
             "init_args": {"dim": 32, "n_fft": 1024, "hop_length": 256, "padding": "center"}},
}

BUGS = {
    "gelu_tanh": Bug("gelu_tanh", "backbone.convnext.1.act", ("activation",)),
    "embed_layout": Bug("embed_layout", "backbone.embed", ()),
}


def reference():
    """A torch Vocos (mel variant): ``backbone`` + ``head`` with the vocos package's names."""
    import torch

    import_soprano_vocos()
    from soprano.vocos.heads import ISTFTHead
    from soprano.vocos.models import VocosBackbone

    class Vocos(torch.nn.Module):
        """``vocos.pretrained.Vocos.decode``: features ``[B, n_mels, T]`` -> audio ``[B, N]``."""

        def __init__(self) -> None:
            super().__init__()
            bb, hd = CONFIG["backbone"]["init_args"], CONFIG["head"]["init_args"]
            self.backbone = VocosBackbone(**bb, input_kernel_size=7, dw_kernel_size=7)
            self.head = ISTFTHead(**hd)

        def forward(self, features: torch.Tensor) -> torch.Tensor:
            return self.head(self.backbone(features))

    torch.manual_seed(0)
    model = Vocos().eval()
    randomize_(model, seed=2)
    return model


def port(ref, folder: Path):
    """mlx-audio's ``Vocos.from_pretrained`` on a folder with the torch weights + config."""
    from mlx_audio.codec.models.vocos import Vocos
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in ref.state_dict().items()},
              str(folder / "model.safetensors"))
    (folder / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    return Vocos.from_pretrained(str(folder))


def plant(model, bug: str) -> None:
    """Plant ``bug`` (see :data:`BUGS`) in the MLX port's modules."""
    import mlx.core as mx
    import numpy as np
    from mlx import nn

    if bug == "gelu_tanh":
        model.backbone.convnext[1].act = nn.GELU(approx="precise")
    elif bug == "embed_layout":
        conv = model.backbone.embed
        w = np.array(conv.weight)  # MLX [out, k, in]
        conv.weight = mx.array(w.transpose(0, 2, 1).reshape(w.shape))
    else:
        raise ValueError(bug)


def mel():
    """A log-mel-like input ``[1, 24, 10]``."""
    import torch

    return torch.randn(1, 24, 10, generator=torch.Generator().manual_seed(3))


def build(workdir: Path, bug: str | None = None, *, inputs: bool = False) -> tuple[Path, Path]:
    """Reference and port traces of one decode from the same mel (``[B, n_mels, T]`` both)."""
    import mlx.core as mx

    ref = reference()
    x = mel()
    ref_path = torch_trace(ref, workdir / "ref.safetensors", lambda: ref(x), inputs=inputs)
    model = port(ref, workdir / "mlx-vocos")
    if bug:
        plant(model, bug)
    port_x = mx.array(x.numpy())
    return ref_path, mlx_trace(model, workdir / "port.safetensors",
                               lambda: model.decode(port_x), inputs=inputs)
