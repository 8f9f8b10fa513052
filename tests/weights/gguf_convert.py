"""Tiny transformers causal LMs saved with ``save_pretrained``, and their conversion to GGUF
with ``gguf.GGUFWriter`` the way llama.cpp's converter writes them.

The conversion follows llama.cpp's ``convert_hf_to_gguf.py`` (llama-cpp-python 0.3.36's
``vendor/llama.cpp/conversion/``): tensor names from gguf's tensor map (``blk.N.attn_q``
...), metadata from ``TextModel.set_gguf_parameters`` (``base.py``: block count, context
length, embedding and feed-forward length, head counts, key/value length from ``head_dim``,
``rope.freq_base`` from ``rope_parameters.rope_theta``,
``attention.layer_norm_rms_epsilon`` from ``rms_norm_eps``)
and, for the ``llama`` architecture only, ``LlamaModel.permute`` on q_proj/k_proj rows
(``llama.py``: ``undo_permute = True``; Qwen3 is not permuted). 1-D tensors stay F32, as the
converter keeps them. Checked once against the real script (its vocabulary step skipped) on
these two models: every tensor, F32 and Q8_0, byte for byte the same, and the same values
for every key written here.
"""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np
from safetensors.numpy import load_file

_NAMES = {
    "embed_tokens.weight": "token_embd.weight", "norm.weight": "output_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight", "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight", "self_attn.o_proj.weight": "attn_output.weight",
    "self_attn.q_norm.weight": "attn_q_norm.weight",
    "self_attn.k_norm.weight": "attn_k_norm.weight",
    "input_layernorm.weight": "attn_norm.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
}


def llama_permute(weights: np.ndarray, n_head: int, n_head_kv: int | None) -> np.ndarray:
    """llama.cpp's ``LlamaModel.permute`` (conversion/llama.py), verbatim on NumPy."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
            .swapaxes(1, 2)
            .reshape(weights.shape))


def save_tiny_lm(kind: str, out_dir: Path, seed: int = 0) -> Path:
    """The study's random ``LlamaForCausalLM`` or ``Qwen3ForCausalLM``
    (:mod:`audioparity.weights.models`: 2 layers, hidden 64, heads 4/2 of 16) written with
    ``save_pretrained`` (model.safetensors + config.json)."""
    from audioparity.weights.models import llama_lm, qwen3_lm

    model, _ = (llama_lm if kind == "llama" else qwen3_lm)(seed)
    model.save_pretrained(out_dir)
    return out_dir


def convert(model_dir: Path, out: Path, qtype: str = "F32", permute_times: int | None = None,
            metadata: dict | None = None, runnable: bool = False) -> Path:
    """Write ``model_dir``'s checkpoint as a GGUF file like ``convert_hf_to_gguf.py``.

    Parameters
    ----------
    qtype : str
        ``F32`` or ``Q8_0`` for 2-D weights (``gguf.quants``); 1-D tensors stay F32.
    permute_times : int, optional
        How many times ``LlamaModel.permute`` is applied to q/k rows; default: once for
        ``llama``, never for ``qwen3`` (the converter's behaviour). Planted bugs use others.
    metadata : dict, optional
        GGUF keys (``{arch}`` expanded) overriding what the converter would write, value
        None to leave a key out.
    runnable : bool
        Add what llama.cpp needs to load a file without a tokenizer (vocabulary type
        ``none``, ``{arch}.vocab_size``); token ids are then fed directly.
    """
    import json

    config = json.loads((model_dir / "config.json").read_text())
    arch = config["model_type"]
    n_head, n_kv = config["num_attention_heads"], config["num_key_value_heads"]
    if permute_times is None:
        permute_times = 1 if arch == "llama" else 0
    writer = gguf.GGUFWriter(out, arch)
    keys = {
        f"{arch}.block_count": (config["num_hidden_layers"], "uint32"),
        f"{arch}.context_length": (config["max_position_embeddings"], "uint32"),
        f"{arch}.embedding_length": (config["hidden_size"], "uint32"),
        f"{arch}.feed_forward_length": (config["intermediate_size"], "uint32"),
        f"{arch}.attention.head_count": (n_head, "uint32"),
        f"{arch}.attention.head_count_kv": (n_kv, "uint32"),
        f"{arch}.rope.freq_base": (config["rope_parameters"]["rope_theta"], "float32"),
        f"{arch}.attention.layer_norm_rms_epsilon": (config["rms_norm_eps"], "float32"),
        f"{arch}.attention.key_length": (config["head_dim"], "uint32"),
        f"{arch}.attention.value_length": (config["head_dim"], "uint32"),
    }
    for key, value in (metadata or {}).items():
        key = key.format(arch=arch)
        if value is None:
            keys.pop(key, None)
        else:
            keys[key] = (value, keys.get(key, (None, "float32"))[1])
    if runnable:
        keys[f"{arch}.vocab_size"] = (config["vocab_size"], "uint32")
        keys["tokenizer.ggml.model"] = ("none", "string")
    for key, (value, kind) in keys.items():
        getattr(writer, f"add_{kind}")(key, value)
    weights = load_file(model_dir / "model.safetensors")
    for name, arr in weights.items():
        parts = name.split(".")
        if name == "lm_head.weight":
            gguf_name = "output.weight"
        elif parts[1] == "layers":
            gguf_name = f"blk.{parts[2]}.{_NAMES['.'.join(parts[3:])]}"
        else:
            gguf_name = _NAMES[".".join(parts[1:])]
        arr = arr.astype(np.float32)
        for _ in range(permute_times):
            if name.endswith("q_proj.weight"):
                arr = llama_permute(arr, n_head, n_head)
            elif name.endswith("k_proj.weight"):
                arr = llama_permute(arr, n_head, n_kv)
        if qtype == "F32" or arr.ndim == 1:
            writer.add_tensor(gguf_name, arr)
        else:
            q = gguf.GGMLQuantizationType[qtype]
            writer.add_tensor(gguf_name, gguf.quants.quantize(arr, q), raw_dtype=q)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out
