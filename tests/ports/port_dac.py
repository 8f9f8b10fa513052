"""DAC: transformers ``DacModel`` (tiny random config) vs mlx-audio's
``mlx_audio.codec.models.descript.dac.DAC`` with the same weights.

mlx-audio ships no converter (its ``from_pretrained`` reads pre-converted weights), so HF's
plain weights become the port's weight-norm parameters: Conv1d ``v = W.permute(0, 2, 1)``,
``g = ||v||`` over dims (1, 2); ConvTranspose1d ``v = W.permute(1, 2, 0)``, ``g`` over dims
(0, 1); Snake ``alpha (1, C, 1) -> (1, 1, C)``; HF's named blocks (``res_unit1..3``,
``snake1``, ``conv1``, ``conv_t1``) become ``Sequential`` indices (``block.layers.N``).
Loaded with ``strict=True``. The flow is ``encode`` (encoder + RVQ) then ``decode`` of the
quantized latents, on the same audio ``[B, 1, T]``, on both sides. (The root forwards are
not used: HF returns ``(loss, audio, z, codes, latents)``, mlx-audio a dict
``{audio, z, codes, latents, losses}``, so ``output:outN`` would differ in order.)

Names differ in structure, not only by ``.layers.``: HF ``encoder.conv1`` is the port's
``encoder.block.layers.0`` while HF ``encoder.block.0`` is the port's
``encoder.block.layers.1``.

Planted bugs:

- ``snake_exp``: the first decoder block's Snake uses ``exp(alpha)`` for ``alpha`` (a
  log-scale parameter read as linear, seed 001's SnakeBeta) -> ``decoder.block.0.snake1``,
  cause ``activation`` (SPEC: "Snake alpha vs exp(alpha)")
- ``convt_shift``: the second decoder block's ConvTranspose trims one sample too many on the
  left and one too few on the right (output shifted by one sample) -> ``decoder.block.1.conv_t1``
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from port_common import Bug, mlx_trace, plant_crash, randomize_, torch_trace

HF = {"encoder_hidden_size": 4, "downsampling_ratios": [2, 4], "decoder_hidden_size": 16,
      "n_codebooks": 3, "codebook_size": 32, "codebook_dim": 4, "hidden_size": 16,
      "upsampling_ratios": [4, 2], "sampling_rate": 16000}
MLX = {"encoder_dim": 4, "encoder_rates": [2, 4], "latent_dim": 16, "decoder_dim": 16,
       "decoder_rates": [4, 2], "n_codebooks": 3, "codebook_size": 32, "codebook_dim": 4,
       "sample_rate": 16000}
SAMPLES = 256

BUGS = {
    "snake_exp": Bug("snake_exp", "decoder.block.0.snake1", ("activation",),
                     port="decoder.model.1.block.0"),
    "convt_shift": Bug("convt_shift", "decoder.block.1.conv_t1", ("shift",),
                       port="decoder.model.2.block.1"),
}

_RES = {"snake1": 0, "conv1": 1, "snake2": 2, "conv2": 3}
_ENC_BLOCK = {"res_unit1": 0, "res_unit2": 1, "res_unit3": 2, "snake1": 3, "conv1": 4}
_DEC_BLOCK = {"snake1": 0, "conv_t1": 1, "res_unit1": 2, "res_unit2": 3, "res_unit3": 4}


def reference():
    """A random tiny transformers ``DacModel`` (eval mode)."""
    import torch
    from transformers import DacConfig, DacModel

    torch.manual_seed(0)
    model = DacModel(DacConfig(**HF)).eval()
    randomize_(model, seed=21, scale=0.3)
    return model


def audio():
    """``[1, 1, SAMPLES]`` of a two-tone signal with noise (torch)."""
    import torch

    t = np.arange(SAMPLES) / HF["sampling_rate"]
    rng = np.random.default_rng(5)
    y = 0.4 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 1870 * t)
    y = y + 0.05 * rng.standard_normal(SAMPLES)
    return torch.from_numpy(y.astype(np.float32)).reshape(1, 1, -1)


def port_key(key: str) -> str:
    """HF ``DacModel`` parameter path (without the leaf) -> the port's module path."""
    parts = key.split(".")
    n_enc, n_dec = len(HF["downsampling_ratios"]), len(HF["upsampling_ratios"])
    if parts[0] == "quantizer":
        return key
    side, rest = parts[0], parts[1:]
    seq = "encoder.block.layers" if side == "encoder" else "decoder.model.layers"
    n = n_enc if side == "encoder" else n_dec
    top = {"conv1": 0, "snake1": n + 1, "conv2": n + 2}
    if rest[0] in top:
        return f"{seq}.{top[rest[0]]}"
    block = int(rest[1]) + 1
    table = _ENC_BLOCK if side == "encoder" else _DEC_BLOCK
    out = f"{seq}.{block}.block.layers.{table[rest[2]]}"
    if len(rest) > 3:
        out += f".block.layers.{_RES[rest[3]]}"
    return out


def convert(state: dict) -> dict:
    """HF state dict -> the port's weights (MLX arrays, weight-norm parameters)."""
    import mlx.core as mx

    out: dict[str, np.ndarray] = {}
    for key, value in state.items():
        arr = value.detach().float().numpy()
        module, leaf = key.rsplit(".", 1)
        target = port_key(module)
        if leaf == "alpha":
            out[f"{target}.alpha"] = arr.transpose(0, 2, 1)
        elif leaf == "weight" and arr.ndim == 3:
            if ".conv_t1" in module:  # ConvTranspose1d [in, out, k] -> [out, k, in]
                v = arr.transpose(1, 2, 0)
                g = np.sqrt((v**2).sum(axis=(0, 1), keepdims=True))
            else:  # Conv1d [out, in, k] -> [out, k, in]
                v = arr.transpose(0, 2, 1)
                g = np.sqrt((v**2).sum(axis=(1, 2), keepdims=True))
            out[f"{target}.weight_v"], out[f"{target}.weight_g"] = v, g
        else:
            out[f"{target}.{leaf}"] = arr
    return {k: mx.array(np.ascontiguousarray(v, np.float32)) for k, v in out.items()}


def port(ref):
    """mlx-audio's ``DAC`` with the reference's weights, loaded strictly."""
    from mlx_audio.codec.models.descript.dac import DAC

    model = DAC(**MLX)
    model.load_weights(list(convert(ref.state_dict()).items()), strict=True)
    return model


def plant(model, bug: str) -> None:
    """Plant ``bug`` (see :data:`BUGS`) in the MLX port's modules."""
    import mlx.core as mx

    if bug == "snake_exp":
        snake = model.decoder.model.layers[1].block.layers[0]
        snake.alpha = mx.exp(snake.alpha)
    elif bug == "crash":  # the port dies in the second decoder block
        plant_crash(model.decoder.model.layers[2])
    elif bug == "convt_shift":
        conv = model.decoder.model.layers[2].block.layers[1]
        cls = type(conv)

        class ShiftedTrim(cls):
            def __call__(self, x):
                self.padding -= 1
                try:
                    y = super().__call__(x)  # two samples longer
                finally:
                    self.padding += 1
                return y[:, 2:, :]  # trims both extra samples on the left

        conv.__class__ = ShiftedTrim
    else:
        raise ValueError(bug)


def build(workdir: Path, bug: str | None = None, *, inputs: bool = False) -> tuple[Path, Path]:
    """Reference and port traces of ``encode`` then ``decode`` on the same audio."""
    import mlx.core as mx

    ref = reference()
    x = audio()
    # encode, then decode the quantized latents: the same public calls on both sides
    ref_path = torch_trace(ref, workdir / "ref.safetensors",
                           lambda: ref.decode(ref.encode(x).quantized_representation),
                           inputs=inputs)
    model = port(ref)
    if bug:
        plant(model, bug)
    port_x = mx.array(x.numpy())
    return ref_path, mlx_trace(model, workdir / "port.safetensors",
                               lambda: model.decode(model.encode(port_x)[0]), inputs=inputs)


def truth_name(ref_name: str) -> str:
    """The port's trace name for a reference trace name (for checking the builder by hand).

    The MLX capture names ``Sequential`` children as torch does (``block.0``, no ``.layers``).
    """
    module, sep, suffix = ref_name.partition(":")
    if module.startswith(("encoder.", "decoder.")) and not module.endswith(
            ("encoder", "decoder")):
        parts = module.split(".")
        if parts[1] == "block" and len(parts) == 3:  # a whole encoder/decoder block
            seq = "encoder.block.layers" if parts[0] == "encoder" else "decoder.model.layers"
            module = f"{seq}.{int(parts[2]) + 1}"
        elif parts[1] == "tanh":
            module = f"decoder.model.layers.{len(HF['upsampling_ratios']) + 3}"
        elif len(parts) == 4:  # a residual unit
            module = port_key(module + ".snake1").rsplit(".block.layers.", 1)[0]
        else:
            module = port_key(module)
    return module.replace(".layers.", ".") + sep + suffix
