"""The built-in llama.cpp -> transformers name map, on names alone (the real run is in
test_llamacpp_parity.py)."""

from __future__ import annotations

from audioparity.compare.matchers.builtin_llamacpp import (
    FAMILIES,
    architecture,
    reference_prefix,
    translate,
)

QWEN3_LAYER = [  # (trace name, ggml op) of one Qwen3 layer as llama.cpp runs it
    ("norm-0", "RMS_NORM"), ("attn_norm-0", "MUL"), ("Qcur-0", "MUL_MAT"),
    ("Qcur-0#1", "RESHAPE"), ("norm-0#1", "RMS_NORM"), ("Qcur_normed-0", "MUL"),
    ("Qcur-0#2", "ROPE"), ("Kcur-0", "MUL_MAT"), ("Kcur-0#1", "RESHAPE"),
    ("norm-0#2", "RMS_NORM"), ("Kcur_normed-0", "MUL"), ("Kcur-0#2", "ROPE"),
    ("Vcur-0", "MUL_MAT"), ("Vcur-0#1", "RESHAPE"), ("kq-0", "MUL_MAT"),
    ("kq_soft_max-0", "SOFT_MAX"), ("kqv-0", "MUL_MAT"), ("kqv_out-0", "CONT"),
    ("kqv_out-0+1", "MUL_MAT"), ("ffn_inp-0", "ADD"), ("norm-0#3", "RMS_NORM"),
    ("ffn_norm-0", "MUL"), ("ffn_up-0", "MUL_MAT"), ("ffn_gate-0", "MUL_MAT"),
    ("ffn_swiglu-0", "GLU"), ("ffn_out-0", "MUL_MAT"), ("l_out-0", "ADD"),
    ("result_norm", "MUL"), ("result_output", "MUL_MAT"),
]


def test_qwen3_nodes_map_to_transformers_modules():
    names = [n for n, _ in QWEN3_LAYER]
    got = translate(names, dict(QWEN3_LAYER), FAMILIES["qwen3"])
    assert got == {
        "attn_norm-0": "model.layers.0.input_layernorm",
        "Qcur-0": "model.layers.0.self_attn.q_proj",
        "Qcur-0#1": "model.layers.0.self_attn.q_norm:in0",
        "Qcur_normed-0": "model.layers.0.self_attn.q_norm",
        "Qcur-0#2": "model.layers.0.self_attn.apply_rotary_pos_emb",
        "Kcur-0": "model.layers.0.self_attn.k_proj",
        "Kcur-0#1": "model.layers.0.self_attn.k_norm:in0",
        "Kcur_normed-0": "model.layers.0.self_attn.k_norm",
        "Kcur-0#2": "model.layers.0.self_attn.apply_rotary_pos_emb:out1",
        "Vcur-0": "model.layers.0.self_attn.v_proj",
        "kqv_out-0": "model.layers.0.self_attn.o_proj:in0",
        "kqv_out-0+1": "model.layers.0.self_attn.o_proj",
        "ffn_inp-0": "model.layers.0.post_attention_layernorm:in0",
        "ffn_norm-0": "model.layers.0.post_attention_layernorm",
        "ffn_up-0": "model.layers.0.mlp.up_proj",
        "ffn_gate-0": "model.layers.0.mlp.gate_proj",
        "ffn_swiglu-0": "model.layers.0.mlp.down_proj:in0",
        "ffn_out-0": "model.layers.0.mlp",
        "l_out-0": "model.layers.0",
        "result_norm": "model.norm",
        "result_output": "lm_head",
    }


def test_steps_keep_their_prefix():
    names = [f"@1/{n}" for n, _ in QWEN3_LAYER]
    got = translate(names, dict(QWEN3_LAYER), FAMILIES["qwen3"])
    assert got["@1/Qcur-0#2"] == "@1/model.layers.0.self_attn.apply_rotary_pos_emb"
    assert got["@1/result_output"] == "@1/lm_head"


def test_a_bias_add_is_the_projection_and_qwen2_has_no_q_norm():
    """Qwen2: Qcur is MUL_MAT, then ADD (bias) under the same name; the reshape feeds RoPE."""
    chain = [("Qcur-3", "MUL_MAT"), ("Qcur-3#1", "ADD"), ("Qcur-3#2", "RESHAPE"),
             ("Qcur-3#3", "ROPE")]
    got = translate([n for n, _ in chain], dict(chain), FAMILIES["qwen2"])
    assert got == {"Qcur-3#1": "model.layers.3.self_attn.q_proj",
                   "Qcur-3#2": "model.layers.3.self_attn.apply_rotary_pos_emb:in0",
                   "Qcur-3#3": "model.layers.3.self_attn.apply_rotary_pos_emb"}


def test_without_ops_first_repeat_is_the_projection_last_the_rope_output():
    got = translate(["Qcur-1", "Qcur-1#1", "Vcur-1"], {}, FAMILIES["qwen3"])
    assert got == {"Qcur-1": "model.layers.1.self_attn.q_proj",
                   "Qcur-1#1": "model.layers.1.self_attn.apply_rotary_pos_emb",
                   "Vcur-1": "model.layers.1.self_attn.v_proj"}


def test_llama_q_and_k_map_like_qwen2():
    """The Llama converter permutes Q/K rows for llama.cpp's RoPE; the map pairs them all the
    same (the rope_rows convention reads them back: test_llama_rows.py)."""
    names = [n for n, _ in QWEN3_LAYER if "normed" not in n]
    got = translate(names, dict(QWEN3_LAYER), FAMILIES["llama"])
    assert got["Qcur-0"] == "model.layers.0.self_attn.q_proj"
    assert got["Kcur-0#1"] == "model.layers.0.self_attn.apply_rotary_pos_emb:in1"
    assert got["Kcur-0#2"] == "model.layers.0.self_attn.apply_rotary_pos_emb:out1"
    assert got["Vcur-0"] == "model.layers.0.self_attn.v_proj"
    assert got["kqv_out-0+1"] == "model.layers.0.self_attn.o_proj"


def test_architecture_comes_from_the_root_module_record():
    assert architecture({"output": "llama.cpp:qwen3", "Qcur-0": "MUL_MAT"}) == "qwen3"
    assert architecture({"output": "Qwen3ForCausalLM"}) is None
    assert architecture({}) is None


def test_reference_prefix_is_read_from_the_layer_names():
    assert reference_prefix(["model.layers.0", "model.layers.1.mlp", "lm_head"]) == ""
    assert reference_prefix(["lm.model.layers.0", "@0/lm.model.layers.1"]) == "lm."
    assert reference_prefix(["encoder.0", "decoder"]) is None
