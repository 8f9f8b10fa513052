"""Mimi: transformers ``MimiModel`` (tiny random config) vs mlx-audio's
``mlx_audio.codec.models.mimi.Mimi`` loaded with its own ``Mimi.load_pytorch_weights``.

That loader reads the original moshi checkpoint layout, not transformers', so the HF state
dict is first written out as a moshi checkpoint (the inverse of transformers' conversion
script): ``encoder.encoder_seanet.layers.N`` -> ``encoder.model.N`` with ``.conv.conv``
nesting (``.convtr.convtr`` for the decoder's transposed convs), q/k/v concatenated into
``in_proj_weight`` with the q/k rows un-permuted back to interleaved RoPE (the port's
``nn.RoPE(traditional=True)``), ``o_proj -> out_proj``, ``mlp.fc1/fc2 -> linear1/2``,
layer norms ``norm1/2``, layer scales ``layer_scale_1/2``, the semantic / acoustic RVQs
``rvq_first`` / ``rvq_rest`` with ``_codebook.embedding_sum``. The loader then renames and
transposes them itself and loads strictly. The loader hard-codes 4 upsampling ratios and one
residual layer, so the tiny config keeps those.

The flow is ``encode`` then ``decode`` of the codes on both sides.

The correct port has a real bug of its own: mlx-audio's ``TransformerConfig.gelu`` defaults
to ``"tanh"`` and ``mimi_202407()`` leaves it so, while the reference (transformers
``hidden_act="gelu"``, like moshi's PyTorch ``F.gelu``) uses the exact erf GELU. The
activation is a plain function attribute in the port (``MlpNoGating.activation``), so the
first tensor that shows it is the MLP's second linear: ref
``encoder.encoder_transformer.layers.0.mlp.fc2`` vs port
``encoder_transformer.transformer.layers.0.gating.linear2`` (max |diff| ~8e-4 of 4.4).

Planted bugs (on the port with that GELU fixed, ``gelu="erf"``, as a user would after the
first finding; otherwise the real bug is always found first):

- ``norm_eps``: the decoder transformer's second LayerNorm uses eps 1e-2 instead of 1e-5
  -> ``decoder.decoder_transformer.layers.0.post_attention_layernorm``
- ``trim_left``: the decoder's second upsampling ConvTranspose trims its causal padding on
  the left instead of the right -> ``decoder.decoder_seanet.layers.5``
- ``elu_alpha``: the decoder's second layer calls ``nn.elu(x, alpha=0.5)`` (a wrong slope in
  a functional activation) -> ``decoder.decoder_seanet.layers.4`` (an ``nn.ELU`` module in
  the reference; the port's call is recorded with the MLX capture's ``functions=``)

The port side is always captured with ``functions=PORT_FUNCTIONS`` (documented capture
option), so its ELUs appear in the trace like the reference's ELU modules.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from port_common import Bug, mlx_trace, randomize_, torch_trace

HF = {"hidden_size": 32, "num_filters": 4, "upsampling_ratios": [2, 2, 2, 2],
      "sampling_rate": 800, "frame_rate": 25.0, "codebook_size": 16, "codebook_dim": 8,
      "num_quantizers": 3, "vector_quantization_hidden_dimension": 8,
      "num_semantic_quantizers": 1, "upsample_groups": 32, "num_hidden_layers": 1,
      "intermediate_size": 64, "num_attention_heads": 2, "num_key_value_heads": 2,
      "head_dim": 16, "sliding_window": 250}
SAMPLES = 640

BUGS = {
    "norm_eps": Bug("norm_eps", "decoder.decoder_transformer.layers.0.post_attention_layernorm",
                    ("norm_eps",), port="decoder_transformer.transformer.layers.0.norm2"),
    "trim_left": Bug("trim_left", "decoder.decoder_seanet.layers.5", ("shift",),
                     port="decoder.layers.1.upsample"),
    "elu_alpha": Bug("elu_alpha", "decoder.decoder_seanet.layers.4", ("activation",),
                     port="decoder.layers.1.elu"),
}
#: the port calls its ELUs as ``nn.elu(x, alpha=1.0)``: the MLX capture records them with
#: ``functions=`` (the reference has ``nn.ELU`` modules, recorded as modules)
PORT_FUNCTIONS = ("mlx.nn.elu",)
#: where the correct port (mlx-audio's tanh GELU) first diverges, (ref, port) names: the MLP's
#: second linear, or with inputs recorded its input (= the GELU's output)
OWN_BUG = {False: ("encoder.encoder_transformer.layers.0.mlp.fc2",
                   "encoder_transformer.transformer.layers.0.gating.linear2"),
           True: ("encoder.encoder_transformer.layers.0.mlp.fc2:in0",
                  "encoder_transformer.transformer.layers.0.gating.linear2:in0")}


def reference():
    """A random tiny transformers ``MimiModel`` (eval mode); codebooks random too."""
    import torch
    from transformers import MimiConfig, MimiModel

    torch.manual_seed(0)
    model = MimiModel(MimiConfig(**HF)).eval()
    randomize_(model, seed=31, scale=0.2)
    gen = torch.Generator().manual_seed(32)
    with torch.no_grad():
        for name, buf in model.named_buffers():
            if name.endswith("embed_sum"):
                buf.copy_(torch.randn(buf.shape, generator=gen))
            elif name.endswith("cluster_usage"):
                buf.copy_(0.5 + torch.rand(buf.shape, generator=gen))
    return model


def audio():
    """``[1, 1, SAMPLES]``: a chirp with noise (torch)."""
    import torch

    t = np.arange(SAMPLES) / HF["sampling_rate"]
    rng = np.random.default_rng(7)
    y = 0.5 * np.sin(2 * np.pi * (30 + 80 * t) * t) + 0.05 * rng.standard_normal(SAMPLES)
    return torch.from_numpy(y.astype(np.float32)).reshape(1, 1, -1)


def _unpermute(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Undo transformers' rotate-half permutation of q/k rows (back to interleaved RoPE)."""
    out, inp = w.shape
    return w.reshape(n_heads, 2, out // n_heads // 2, inp).transpose(0, 2, 1, 3).reshape(out, inp)


def moshi_state(state: dict) -> dict[str, np.ndarray]:
    """HF ``MimiModel`` state dict -> the original moshi checkpoint's keys and layout."""
    n_heads = HF["num_attention_heads"]
    convtr = {f"decoder.decoder_seanet.layers.{i}" for i in (2, 5, 8, 11)}
    out: dict[str, np.ndarray] = {}
    qkv: dict[str, dict[str, np.ndarray]] = {}
    for key, value in state.items():
        arr = value.detach().float().numpy()
        for side in ("encoder", "decoder"):
            seanet = f"{side}.{side}_seanet.layers."
            if key.startswith(seanet):
                module, leaf = key.rsplit(".", 1)
                nest = ".convtr.convtr." if module.removesuffix(".conv") in convtr else ".conv.conv."
                module = module.removesuffix(".conv").replace(seanet, f"{side}.model.")
                out[module + nest + leaf] = arr
                break
            tr = f"{side}.{side}_transformer.layers."
            if key.startswith(tr):
                rest = key.removeprefix(tr)
                layer, sub = rest.split(".", 1)
                base = f"{side}_transformer.transformer.layers.{layer}."
                if sub.startswith("self_attn.") and sub[10] in "qkv" and sub[11:17] == "_proj.":
                    w = arr if sub[10] == "v" else _unpermute(arr, n_heads)
                    qkv.setdefault(base, {})[sub[10]] = w
                else:
                    sub = (sub.replace("self_attn.o_proj", "self_attn.out_proj")
                           .replace("mlp.fc1", "linear1").replace("mlp.fc2", "linear2")
                           .replace("input_layernorm", "norm1")
                           .replace("post_attention_layernorm", "norm2")
                           .replace("self_attn_layer_scale", "layer_scale_1")
                           .replace("mlp_layer_scale", "layer_scale_2"))
                    out[base + sub] = arr
                break
        else:
            if key == "encoder.downsample.conv.weight":
                out["downsample.conv.conv.conv.weight"] = arr
            elif key == "decoder.upsample.conv.weight":
                out["upsample.convtr.convtr.convtr.weight"] = arr
            elif key.startswith("quantizer."):
                k = (key.replace("semantic_residual_vector_quantizer", "rvq_first")
                     .replace("acoustic_residual_vector_quantizer", "rvq_rest")
                     .replace(".layers.", ".vq.layers.")
                     .replace(".codebook.embed_sum", "._codebook.embedding_sum")
                     .replace(".codebook.cluster_usage", "._codebook.cluster_usage")
                     .replace(".codebook.initialized", "._codebook._initialized"))
                out[k] = arr
            else:
                raise KeyError(f"unmapped Mimi weight {key}")
    for base, parts in qkv.items():
        out[base + "self_attn.in_proj_weight"] = np.concatenate([parts["q"], parts["k"],
                                                                 parts["v"]])
    return out


def mlx_config(gelu: str | None = None):
    """mlx-audio's ``MimiConfig`` for :data:`HF` (its own dataclasses); ``gelu=None`` keeps
    mlx-audio's default (``"tanh"``), ``"erf"`` is the reference's."""
    from mlx_audio.codec.models.mimi.mimi import MimiConfig
    from mlx_audio.codec.models.mimi.modules import SeanetConfig, TransformerConfig

    seanet = SeanetConfig(
        dimension=HF["hidden_size"], channels=1, causal=True, nfilters=HF["num_filters"],
        nresidual_layers=1, ratios=list(reversed(HF["upsampling_ratios"])), ksize=7,
        residual_ksize=3, last_ksize=3, dilation_base=2, pad_mode="constant", true_skip=True,
        compress=2)
    transformer = TransformerConfig(
        d_model=HF["hidden_size"], num_heads=HF["num_attention_heads"],
        num_layers=HF["num_hidden_layers"], causal=True, norm_first=True, bias_ff=False,
        bias_attn=False, layer_scale=0.01, positional_embedding="rope", use_conv_bias=True,
        gating=False, norm="layer_norm", context=HF["sliding_window"], max_period=10000,
        max_seq_len=8192, kv_repeat=1, dim_feedforward=HF["intermediate_size"],
        conv_layout=True, use_conv_block=False, cross_attention=False, conv_kernel_size=3,
        **({"gelu": gelu} if gelu else {}))
    return MimiConfig(channels=1, sample_rate=HF["sampling_rate"], frame_rate=HF["frame_rate"],
                      renormalize=True, seanet=seanet, transformer=transformer,
                      quantizer_nq=HF["num_quantizers"], quantizer_bins=HF["codebook_size"],
                      quantizer_dim=HF["vector_quantization_hidden_dimension"])


def port(ref, folder: Path, gelu: str | None = None):
    """mlx-audio's ``Mimi`` loaded by ``load_pytorch_weights`` from a moshi-layout file."""
    import mlx.core as mx
    from mlx_audio.codec.models.mimi.mimi import Mimi

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tokenizer.safetensors"
    mx.save_safetensors(str(path), {k: mx.array(v) for k, v in
                                    moshi_state(ref.state_dict()).items()})
    model = Mimi(mlx_config(gelu))
    model.load_pytorch_weights(str(path), strict=True)
    return model


def plant(model, bug: str) -> None:
    """Plant ``bug`` (see :data:`BUGS`) in the MLX port's modules."""
    from mlx_audio.codec.models.mimi.modules.conv import unpad1d

    if bug == "norm_eps":
        model.decoder_transformer.transformer.layers[0].norm2.eps = 1e-2
    elif bug == "elu_alpha":
        layer = model.decoder.layers[1]

        class SlopeHalf(type(layer)):
            def __call__(self, xs):
                from mlx import nn

                xs = self.upsample(nn.elu(xs, alpha=0.5))  # the reference's ELU has alpha 1
                for r in self.residuals:
                    xs = r(xs)
                return xs

        layer.__class__ = SlopeHalf
    elif bug == "trim_left":
        upsample = model.decoder.layers[1].upsample

        class TrimLeft(type(upsample)):
            def __call__(self, xs):
                padding_total = max(self._ksize - self.convtr.convtr._stride, 0)
                return unpad1d(self.convtr(xs), unpad_l=padding_total, unpad_r=0)

        upsample.__class__ = TrimLeft
    else:
        raise ValueError(bug)


def build(workdir: Path, bug: str | None = None, *, inputs: bool = False) -> tuple[Path, Path]:
    """Reference and port traces of ``encode`` then ``decode`` on the same audio."""
    import mlx.core as mx

    ref = reference()
    x = audio()
    ref_path = torch_trace(ref, workdir / "ref.safetensors",
                           lambda: ref.decode(ref.encode(x).audio_codes), inputs=inputs)
    model = port(ref, workdir / "mlx-mimi", gelu="erf" if bug else None)
    if bug:
        plant(model, bug)
    port_x = mx.array(x.numpy())
    return ref_path, mlx_trace(model, workdir / "port.safetensors",
                               lambda: model.decode(model.encode(port_x)), inputs=inputs,
                               functions=PORT_FUNCTIONS)
