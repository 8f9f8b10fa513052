"""A correct port of the tiny Qwen3 dumped the way llama.cpp names and shapes its graph.

llama.cpp's graph callback sees node names (``attn_norm-0``, ``Qcur-0`` …), no batch axis,
heads split (``[T, n_head, d]``), ``Qcur-N`` reused for the projection and its rotated
form (the reader makes the second ``Qcur-N#1``), and ``ffn_up`` computed before
``ffn_gate``. The values are the reference's own (a correct port), taken from a capture that
recorded module inputs and the RoPE function.
"""

from __future__ import annotations

import numpy as np


def llama_dump(t: dict[str, np.ndarray], sizes: dict, bug: dict[str, float] | None = None
               ) -> dict[str, np.ndarray]:
    """Port tensors in llama.cpp's order; ``bug`` scales a port tensor by name."""
    heads, kv, d = sizes["heads"], sizes["kv_heads"], sizes["head_dim"]
    out: dict[str, np.ndarray] = {}

    def put(name: str, array: np.ndarray) -> None:
        out[name] = np.ascontiguousarray(array, dtype=np.float32)

    put("inp_embd", t["model.embed_tokens"][0])
    for i in range(sizes["layers"]):
        p = f"model.layers.{i}"
        a = f"{p}.self_attn"
        rope = f"{a}.apply_rotary_pos_emb"
        put(f"attn_norm-{i}", t[f"{p}.input_layernorm"][0])
        put(f"Qcur-{i}", t[f"{a}.q_proj"][0].reshape(-1, heads, d))
        put(f"Qcur_normed-{i}", t[f"{a}.q_norm"][0])
        put(f"Qcur-{i}#1", t[rope][0].transpose(1, 0, 2))  # [T, n_head, d] after RoPE
        put(f"Kcur-{i}", t[f"{a}.k_proj"][0].reshape(-1, kv, d))
        put(f"Kcur_normed-{i}", t[f"{a}.k_norm"][0])
        put(f"Kcur-{i}#1", t[f"{rope}:out1"][0].transpose(1, 0, 2))
        put(f"Vcur-{i}", t[f"{a}.v_proj"][0].reshape(-1, kv, d))
        put(f"kqv_out-{i}", t[f"{a}.o_proj:in0"][0])
        put(f"ffn_inp-{i}", t[f"{p}.post_attention_layernorm:in0"][0])
        put(f"ffn_norm-{i}", t[f"{p}.post_attention_layernorm"][0])
        put(f"ffn_up-{i}", t[f"{p}.mlp.up_proj"][0])
        put(f"ffn_gate-{i}", t[f"{p}.mlp.gate_proj"][0])
        put(f"ffn_out-{i}", t[f"{p}.mlp.down_proj"][0])
        put(f"l_out-{i}", t[p][0])
    put("result_norm", t["model.norm"][0])
    put("result_output", t["lm_head"][0])
    for name, factor in (bug or {}).items():
        out[name] = (out[name] * factor).astype(np.float32)
    return out
