"""A tiny random transformers causal LM (Qwen3; Qwen2 and Llama too) written as a GGUF
llama.cpp loads, and its torch capture: the two sides of every real llama.cpp test.

The GGUF is written with ``gguf.GGUFWriter`` the way llama.cpp's ``convert_hf_to_gguf.py``
writes these architectures (tensor names ``blk.N.attn_q.weight`` …; Qwen uses NEOX RoPE and
keeps the Q/K rows, Llama's converter permutes them for llama.cpp's interleaved RoPE), with
a byte-level BPE vocabulary of the model's 256 tokens. Planted conversion bugs are GGUF
metadata that differs from the model's config (``rope_theta``, ``rms_eps``) and the
weights' type (``qtype="Q8_0"``: 2-D weights quantized, norms kept F32, as the converter
does).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: the prompt every test runs (12 tokens of the 256-token vocabulary)
PROMPT = [3, 17, 42, 99, 128, 5, 250, 7, 64, 31, 200, 11]

_LAYER_TENSORS = {  # GGUF name (per layer) -> transformers parameter (per layer)
    "attn_norm": "input_layernorm",
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "attn_q_norm": "self_attn.q_norm",
    "attn_k_norm": "self_attn.k_norm",
    "ffn_norm": "post_attention_layernorm",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}


def build_model(arch: str = "qwen3"):
    """The demo's tiny random language model (4 layers, 64 wide, GQA 4/2 heads): its Qwen3,
    or the same sizes as a Qwen2 (Q/K/V biases) or a Llama."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    from audioparity.examples.reference import DemoConfig, _randomize, build_lm

    demo = DemoConfig()
    if arch == "qwen3":
        return build_lm(demo)
    sizes = {k: v for k, v in demo.qwen3_config().to_dict().items() if k in (
        "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
        "num_attention_heads", "num_key_value_heads", "head_dim", "rope_parameters",
        "rms_norm_eps", "max_position_embeddings", "tie_word_embeddings", "use_cache")}
    config, cls = {"qwen2": (Qwen2Config, Qwen2ForCausalLM),
                   "llama": (LlamaConfig, LlamaForCausalLM)}[arch]
    torch.manual_seed(0)
    model = cls(config(**sizes, attn_implementation="sdpa")).eval()
    _randomize(model, 0)
    return model


def capture_reference(model, tokens: list[int], path: Path) -> Path:
    """The torch capture of ``model(tokens)`` with module inputs and the RoPE function."""
    import torch

    from audioparity.sources.torch_capture import capture

    rope = f"{type(model).__module__}.apply_rotary_pos_emb"
    ids = torch.tensor([tokens])
    with torch.no_grad(), capture(model, path, functions=(rope,), inputs=True):
        model(ids)
    return path


def capture_generate(model, path: Path, max_new_tokens: int = 3) -> Path:
    """The per-step torch capture of transformers' greedy ``generate`` (KV cache) from
    :data:`PROMPT`: ``@0/`` the prompt, then one step per new token."""
    import torch

    from audioparity.sources.torch_capture import capture

    rope = f"{type(model).__module__}.apply_rotary_pos_emb"
    with torch.no_grad(), capture(model, path, functions=(rope,), inputs=True, steps=True):
        model.generate(torch.tensor([PROMPT]), max_new_tokens=max_new_tokens,
                       do_sample=False, use_cache=True)
    return path


def _byte_tokens() -> list[str]:
    """GPT-2's byte-level alphabet: one printable character per byte value."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
            *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = {}, 0
    for b in range(256):
        if b in keep:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return [chars[b] for b in range(256)]


def write_gguf(model, path: Path, *, rope_theta: float | None = None,
               rms_eps: float | None = None, qtype: str = "F32") -> Path:
    """Write ``model`` as a ``qwen3`` GGUF; ``rope_theta``/``rms_eps`` override the config's
    values in the metadata (a planted conversion bug), ``qtype`` ``"F32"`` or ``"Q8_0"``."""
    import gguf

    from audioparity.weights.rope_rows import permutation_index

    cfg = model.config
    arch = {"qwen3": "qwen3", "qwen2": "qwen2", "llama": "llama"}[cfg.model_type]
    theta = cfg.rope_parameters["rope_theta"] if rope_theta is None else rope_theta
    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_name("tiny-qwen3")
    writer.add_context_length(cfg.max_position_embeddings)
    writer.add_embedding_length(cfg.hidden_size)
    writer.add_block_count(cfg.num_hidden_layers)
    writer.add_feed_forward_length(cfg.intermediate_size)
    writer.add_head_count(cfg.num_attention_heads)
    writer.add_head_count_kv(cfg.num_key_value_heads)
    writer.add_key_length(cfg.head_dim)
    writer.add_value_length(cfg.head_dim)
    writer.add_rope_dimension_count(cfg.head_dim)
    writer.add_rope_freq_base(float(theta))
    writer.add_layer_norm_rms_eps(float(cfg.rms_norm_eps if rms_eps is None else rms_eps))
    quant = gguf.GGMLQuantizationType[qtype]
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0 if qtype == "Q8_0"
                         else gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("qwen2")
    writer.add_token_list(_byte_tokens())
    writer.add_token_types([gguf.TokenType.NORMAL] * 256)
    writer.add_token_merges(["Ġ Ġ"])
    writer.add_eos_token_id(0)

    state = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}

    def put(name: str, array: np.ndarray) -> None:
        array = np.ascontiguousarray(array, dtype=np.float32)
        if quant == gguf.GGMLQuantizationType.F32 or array.ndim == 1:
            writer.add_tensor(name, array)
        else:
            writer.add_tensor(name, gguf.quants.quantize(array, quant), raw_dtype=quant)

    put("token_embd.weight", state["model.embed_tokens.weight"])
    for i in range(cfg.num_hidden_layers):
        for gguf_name, hf_name in _LAYER_TENSORS.items():
            for kind in ("weight", "bias"):
                key = f"model.layers.{i}.{hf_name}.{kind}"
                if key not in state:
                    continue
                value = state[key]
                if arch == "llama" and gguf_name in ("attn_q", "attn_k"):
                    # convert_hf_to_gguf.py's LlamaModel.permute (tests/weights pins the
                    # index to a verbatim copy of it)
                    value = value[permutation_index(len(value), cfg.head_dim)]
                put(f"blk.{i}.{gguf_name}.{kind}", value)
    put("output_norm.weight", state["model.norm.weight"])
    put("output.weight", state["lm_head.weight"])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
