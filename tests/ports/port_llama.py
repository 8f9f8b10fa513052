"""Llama: transformers ``LlamaForCausalLM`` (tiny random config) vs mlx-audio's language-model
port ``mlx_audio.lm.models.llama.Model`` (the backbone of its Orpheus TTS), same weights,
through the port's own ``Model.sanitize``, loaded strictly.

The reference is captured with the rotary function recorded (``functions=
[apply_rotary_pos_emb]``, as the README shows): q and k after RoPE are one call's two outputs
(``...apply_rotary_pos_emb``, ``...:out1``) where the port calls its ``nn.RoPE`` module twice
(``...rope``, ``...rope#1``).

Planted bugs:

- ``rope_traditional``: layer 1 rotates interleaved pairs (``nn.RoPE(traditional=True)``)
  -> ``model.layers.1.self_attn.apply_rotary_pos_emb`` / port ``...self_attn.rope``
- ``norm_eps``: layer 0's post-attention RMSNorm uses eps 1e-2 instead of 1e-6
  -> ``model.layers.0.post_attention_layernorm``
"""

from __future__ import annotations

from pathlib import Path

from port_common import Bug, mlx_trace, randomize_, torch_trace

HF = {"vocab_size": 96, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
      "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8,
      "rms_norm_eps": 1e-6, "max_position_embeddings": 128, "tie_word_embeddings": False}
TOKENS = 10
ROPE_FUNCTION = "transformers.models.llama.modeling_llama.apply_rotary_pos_emb"

BUGS = {
    "rope_traditional": Bug("rope_traditional", "model.layers.1.self_attn.apply_rotary_pos_emb",
                            ("rope_variant",), port="model.layers.1.self_attn.rope"),
    "norm_eps": Bug("norm_eps", "model.layers.0.post_attention_layernorm", ("norm_eps",)),
}


def reference():
    """A random tiny transformers ``LlamaForCausalLM`` (eval mode, eager attention)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**HF, attn_implementation="eager")).eval()
    randomize_(model, seed=51)
    return model


def input_ids():
    """``[1, TOKENS]`` token ids (torch)."""
    import torch

    gen = torch.Generator().manual_seed(52)
    return torch.randint(0, HF["vocab_size"], (1, TOKENS), generator=gen)


def port(ref):
    """mlx-audio's Llama ``Model`` with the reference's weights (``sanitize``, strict)."""
    import mlx.core as mx
    from mlx_audio.lm.models.llama import Model, ModelArgs

    model = Model(ModelArgs(model_type="llama", **HF))
    weights = {k: mx.array(v.detach().float().numpy()) for k, v in ref.state_dict().items()}
    model.load_weights(list(model.sanitize(weights).items()), strict=True)
    return model


def plant(model, bug: str) -> None:
    """Plant ``bug`` (see :data:`BUGS`) in the MLX port's modules."""
    from mlx import nn

    if bug == "rope_traditional":
        attn = model.model.layers[1].self_attn
        attn.rope = nn.RoPE(HF["head_dim"], traditional=True, base=10000.0)
    elif bug == "norm_eps":
        model.model.layers[0].post_attention_layernorm.eps = 1e-2
    else:
        raise ValueError(bug)


def build(workdir: Path, bug: str | None = None, *, inputs: bool = False) -> tuple[Path, Path]:
    """Reference and port traces of one forward on the same tokens."""
    import mlx.core as mx

    ref = reference()
    ids = input_ids()
    ref_path = torch_trace(ref, workdir / "ref.safetensors", lambda: ref(ids), inputs=inputs,
                           functions=(ROPE_FUNCTION,))
    model = port(ref)
    if bug:
        plant(model, bug)
    port_ids = mx.array(ids.numpy())
    return ref_path, mlx_trace(model, workdir / "port.safetensors", lambda: model(port_ids),
                               inputs=inputs)
