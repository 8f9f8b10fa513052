"""Soprano's decoder: the torch ``soprano.vocos.decoder.SopranoDecoder`` (soprano-tts) vs
mlx-audio's ``mlx_audio.tts.models.soprano.decoder.SopranoDecoder``, same random weights.

mlx-audio has no converter for this decoder (its ``Model.sanitize`` only renames keys and
casts to f32): Conv1d weights get ``moveaxis(1, 2)`` to MLX ``[out, k, in]``, then go through
``Model.sanitize`` and load strictly. Input: hidden states, torch ``[B, C, L]``, MLX
``[B, L, C]`` (each side's documented calling convention).

The correct port diverges at ``head`` on its own: mlx-audio's ISTFT is normalised differently
from torch's (see the README findings). Planted bugs:

- ``norm_eps``: the backbone's first LayerNorm uses eps 1e-2 instead of 1e-6 -> ``decoder.norm``
- ``gelu_tanh``: the first ConvNeXt block's GELU is the tanh approximation -> ``decoder.convnext.0.act``
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from pathlib import Path

from port_common import Bug, mlx_trace, randomize_, torch_trace

CONFIG = {"num_input_channels": 16, "decoder_num_layers": 2, "decoder_dim": 32,
          "hop_length": 512, "n_fft": 2048, "upscale": 4, "dw_kernel": 3}

BUGS = {
    "norm_eps": Bug("norm_eps", "decoder.norm", ("norm_eps",)),
    "gelu_tanh": Bug("gelu_tanh", "decoder.convnext.0.act", ("activation",)),
}


def import_soprano_vocos():
    """Import ``soprano.vocos`` without running ``soprano/__init__.py`` (which loads the hub)."""
    if "soprano" not in sys.modules or not hasattr(sys.modules["soprano"], "__path__"):
        spec = importlib.util.find_spec("soprano")
        pkg = types.ModuleType("soprano")
        pkg.__path__ = list(spec.submodule_search_locations)
        pkg.__spec__ = spec
        sys.modules["soprano"] = pkg
    return importlib.import_module("soprano.vocos")


def reference():
    """The torch Soprano decoder, tiny and random (eval mode)."""
    import torch

    import_soprano_vocos()
    from soprano.vocos.decoder import SopranoDecoder

    torch.manual_seed(0)
    model = SopranoDecoder(**CONFIG).eval()
    randomize_(model, seed=0)
    return model


def port(ref):
    """mlx-audio's SopranoDecoder with the reference's weights (``Model.sanitize``, strict)."""
    import mlx.core as mx
    from mlx_audio.tts.models.soprano.decoder import SopranoDecoder
    from mlx_audio.tts.models.soprano.soprano import Model

    model = SopranoDecoder(**CONFIG)
    weights = {}
    for key, value in ref.state_dict().items():
        arr = mx.array(value.numpy())
        weights["decoder." + key] = arr.moveaxis(1, 2) if value.ndim == 3 else arr
    weights = Model.sanitize(None, weights)  # the converter mlx-audio applies to checkpoints
    weights = {k.removeprefix("decoder."): v for k, v in weights.items()
               if not k.endswith("istft.window")}  # MLX builds its window itself
    model.load_weights(list(weights.items()), strict=True)
    return model


def plant(model, bug: str) -> None:
    """Plant ``bug`` (see :data:`BUGS`) in the MLX port's modules."""
    from mlx import nn

    if bug == "norm_eps":
        model.decoder.norm.eps = 1e-2
    elif bug == "gelu_tanh":
        model.decoder.convnext[0].act = nn.GELU(approx="precise")
    else:
        raise ValueError(bug)


def features():
    """Hidden states ``[1, C, 6]`` (torch layout)."""
    import torch

    gen = torch.Generator().manual_seed(1)
    return torch.randn(1, CONFIG["num_input_channels"], 6, generator=gen)


def build(workdir: Path, bug: str | None = None, *, inputs: bool = False) -> tuple[Path, Path]:
    """Reference and port traces of one decode."""
    import mlx.core as mx

    ref = reference()
    x = features()
    ref_path = torch_trace(ref, workdir / "ref.safetensors", lambda: ref(x), inputs=inputs)
    model = port(ref)
    if bug:
        plant(model, bug)
    port_x = mx.array(x.numpy().transpose(0, 2, 1))  # mlx-audio takes [B, L, C]
    return ref_path, mlx_trace(model, workdir / "port.safetensors", lambda: model(port_x),
                               inputs=inputs)


def fix_istft_head(head) -> None:
    """Patch mlx-audio's ISTFT head (soprano's and vocos') to torch's ISTFT, in place.

    What the patch changes is the evidence for the finding at ``head``: mlx-audio divides
    the overlap-add by the window sum Σw (``istft(normalized=False)``) where ``torch.istft``
    divides by Σw² (for a Hann window at hop n_fft/4 that is a factor 1.5/2 = 0.75 inside the
    signal, different at the edges); it uses a symmetric Hann window (``hanning(n_fft)``)
    where torch's ``hann_window`` is periodic; and the reference's "center" ISTFT zeroes the
    DC and Nyquist bins, the port keeps them. Returns nothing; keeps the head's output shape.
    """
    import mlx.core as mx
    import numpy as np
    from mlx_audio.dsp import istft

    window = mx.array(np.hanning(head.n_fft + 1)[:-1].astype(np.float32))  # periodic
    keep = np.ones((head.n_fft // 2 + 1, 1), np.float32)
    keep[[0, -1]] = 0.0
    batched = type(head).__module__.endswith("soprano.decoder")

    class TorchLikeISTFTHead(type(head)):
        def __call__(self, x):
            spec = self.out(x).swapaxes(1, 2)
            mag, phase = spec.split(2, axis=1)
            mag = mx.clip(mx.exp(mag), None, 1e2)
            stft = (mag * (mx.cos(phase) + 1j * mx.sin(phase))).squeeze(0) * mx.array(keep)
            audio = istft(stft, window=window, hop_length=self.hop_length,
                          win_length=self.n_fft, normalized=True)
            return audio[None, :] if batched else audio

    head.__class__ = TorchLikeISTFTHead
