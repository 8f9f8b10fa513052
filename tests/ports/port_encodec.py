"""EnCodec: transformers ``EncodecModel`` (tiny random config) vs mlx-audio's
``mlx_audio.codec.models.encodec.Encodec`` with the same weights.

mlx-audio ships no HF -> MLX converter for EnCodec (``from_pretrained`` reads pre-converted
weights), so the weights are converted the way its pre-converted checkpoints are laid out:
weight norm folded (``g * v / ||v||``), Conv1d ``[out, in, k] -> [out, k, in]``,
ConvTranspose1d ``[in, out, k] -> [out, k, in]``, LSTM ``weight_ih_l{i} -> lstm.{i}.Wx``,
``weight_hh_l{i} -> lstm.{i}.Wh``, bias ``bias_ih + bias_hh``; the codebooks' EMA buffers
dropped. Loaded with ``strict=True``. The flow runs ``encode`` then ``decode`` on both sides.

Planted bugs (in the port's modules, after loading):

- ``elu_alpha``: the ELU before the decoder's first ConvTranspose uses alpha 0.5
  (a wrong activation slope) -> ``decoder.layers.2``
- ``trim_left``: the decoder's first ConvTranspose trims its padding on the left instead of
  the right (a causal trim on the wrong side, seed 001) -> ``decoder.layers.3``
- ``conv_layout``: one Conv1d weight (the encoder's first resnet block's first conv) keeps
  torch's ``[out, in, k]`` bytes read as MLX ``[out, k, in]`` -> ``encoder.layers.1.block.1.conv``
  (the error is not a layout of the output, so no cause is expected)
- ``drop_last``: the decoder's final conv returns one sample too few (a dropped sample)
  -> ``decoder.layers.9``, cause ``length``
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from port_common import Bug, mlx_trace, plant_crash, randomize_, torch_trace

SAMPLES = 480

BUGS = {
    "elu_alpha": Bug("elu_alpha", "decoder.layers.2", ("activation",)),
    "trim_left": Bug("trim_left", "decoder.layers.3", ("shift",)),
    "conv_layout": Bug("conv_layout", "encoder.layers.1.block.1.conv", ()),
    "drop_last": Bug("drop_last", "decoder.layers.9", ("length",), changes_shape=True),
}

#: ``codebook_size`` stays 1024: mlx-audio sizes the RVQ as ``1000 * bw / (frame_rate * 10)``
#: (10 = log2(1024) hard-coded) where transformers uses ``codebook_nbits``; with a smaller
#: codebook the port builds more quantizers than the reference (see the README findings).
CONFIG = {
    "audio_channels": 1, "num_filters": 4, "hidden_size": 16, "codebook_dim": 16,
    "codebook_size": 1024,
    "upsampling_ratios": [4, 2], "sampling_rate": 800, "target_bandwidths": [1.5, 3.0],
    "num_lstm_layers": 2, "kernel_size": 7, "last_kernel_size": 7, "residual_kernel_size": 3,
    "use_causal_conv": True, "norm_type": "weight_norm", "pad_mode": "reflect",
}


def reference():
    """A random tiny transformers ``EncodecModel`` (eval mode)."""
    import torch
    from transformers import EncodecConfig, EncodecModel

    torch.manual_seed(0)
    model = EncodecModel(EncodecConfig(**CONFIG)).eval()
    randomize_(model, seed=11, scale=0.2)
    with torch.no_grad():  # codebooks are buffers: random too, so codes are not all 0
        gen = torch.Generator().manual_seed(12)
        for layer in model.quantizer.layers:
            layer.codebook.embed.copy_(torch.randn(layer.codebook.embed.shape, generator=gen))
    return model


def audio():
    """A short chirp with some noise, ``[1, 1, SAMPLES]`` float32 (torch)."""
    import torch

    t = np.arange(SAMPLES) / CONFIG["sampling_rate"]
    rng = np.random.default_rng(3)
    y = 0.5 * np.sin(2 * np.pi * (20 + 60 * t) * t) + 0.05 * rng.standard_normal(SAMPLES)
    return torch.from_numpy(y.astype(np.float32)).reshape(1, 1, -1)


def convert(state: dict, transposed: set[str]) -> dict:
    """HF ``EncodecModel`` state dict -> mlx-audio ``Encodec`` weights (MLX arrays).

    ``transposed``: module paths of the ConvTranspose1d convs (``decoder.layers.3.conv``).
    """
    import mlx.core as mx

    out: dict[str, np.ndarray] = {}
    folded: dict[str, dict[str, np.ndarray]] = {}
    for key, value in state.items():
        arr = value.detach().float().numpy()
        if key.endswith(("inited", "cluster_size", "embed_avg")):
            continue
        if ".parametrizations.weight.original" in key:
            base = key.split(".parametrizations.")[0]
            folded.setdefault(base, {})[key[-1]] = arr
            continue
        if ".lstm.weight_ih_l" in key or ".lstm.weight_hh_l" in key or ".lstm.bias_" in key:
            prefix, leaf = key.rsplit(".", 1)
            kind, layer = leaf.rsplit("_l", 1)
            if kind == "weight_ih":
                out[f"{prefix}.{layer}.Wx"] = arr
            elif kind == "weight_hh":
                out[f"{prefix}.{layer}.Wh"] = arr
            else:
                name = f"{prefix}.{layer}.bias"
                out[name] = out.get(name, 0) + arr
            continue
        out[key] = arr
    for base, parts in folded.items():
        g, v = parts["0"], parts["1"]
        w = g * v / np.sqrt((v**2).sum(axis=(1, 2), keepdims=True))
        out[base + ".weight"] = w.transpose(1, 2, 0) if base in transposed else w.transpose(0, 2, 1)
    return {k: mx.array(np.asarray(v, np.float32)) for k, v in out.items()}


def port(ref):
    """mlx-audio's ``Encodec`` with the reference's weights, loaded strictly."""
    import torch
    from mlx_audio.codec.models.encodec.encodec import Encodec, EncodecConfig

    transposed = {name + ".conv" for name, m in ref.named_modules()
                  if isinstance(getattr(m, "conv", None), torch.nn.ConvTranspose1d)}
    model = Encodec(EncodecConfig(**CONFIG))
    model.load_weights(list(convert(ref.state_dict(), transposed).items()), strict=True)
    return model


def plant(model, bug: str) -> None:
    """Plant ``bug`` (see :data:`BUGS`) in the MLX port's modules."""
    import mlx.core as mx

    if bug == "elu_alpha":
        model.decoder.layers[2]._alpha = 0.5
    elif bug == "trim_left":
        layer = model.decoder.layers[3]
        cls = type(layer)

        class TrimLeft(cls):
            def __call__(self, hidden_states):
                y = self.conv(hidden_states)
                return y[:, self.padding_total:, :]  # trims the left, not the right

        layer.__class__ = TrimLeft
    elif bug == "drop_last":
        final = model.decoder.layers[9]

        class DropsLast(type(final)):
            def __call__(self, hidden_states):
                return super().__call__(hidden_states)[:, :-1, :]  # one sample short

        final.__class__ = DropsLast
    elif bug == "crash":  # the port dies in the decoder's first resnet block
        plant_crash(model.decoder.layers[4])
    elif bug == "conv_layout":
        conv = model.encoder.layers[1].block[1].conv
        w = np.array(conv.weight)  # MLX [out, k, in]
        conv.weight = mx.array(w.transpose(0, 2, 1).reshape(w.shape))  # torch bytes, MLX shape
    else:
        raise ValueError(bug)


def build(workdir: Path, bug: str | None = None, *, inputs: bool = False) -> tuple[Path, Path]:
    """Reference and port traces of ``encode`` then ``decode`` on the same audio (both
    libraries' public API; neither root module's forward runs, so no ``output`` entry)."""
    import mlx.core as mx

    ref = reference()
    x = audio()
    def run_ref():  # the same two calls as on the port: encode, then decode its codes
        encoded = ref.encode(x)
        return ref.decode(encoded.audio_codes, encoded.audio_scales)

    ref_path = torch_trace(ref, workdir / "ref.safetensors", run_ref, inputs=inputs)
    model = port(ref)
    if bug:
        plant(model, bug)

    def run():
        codes, scales = model.encode(mx.array(x.numpy().transpose(0, 2, 1)))
        return model.decode(codes, scales)

    return ref_path, mlx_trace(model, workdir / "port.safetensors", run, inputs=inputs)
