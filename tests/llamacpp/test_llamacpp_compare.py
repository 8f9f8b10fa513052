"""The plain flow on a real llama.cpp run: `compare ref.safetensors llama.safetensors`
with no map file, at parity and with the default settings, Q8_0 weights, and planted
GGUF-metadata bugs each found at its node and named."""

from __future__ import annotations

import pytest
from tiny_lm import PROMPT, capture_generate

from audioparity.compare import compare_traces

MAPPED = {  # llama.cpp node -> the transformers tensor the built-in map pairs it with
    "embd": "model.embed_tokens",
    "attn_norm-0": "model.layers.0.input_layernorm",
    "Qcur-1": "model.layers.1.self_attn.q_proj",
    "Qcur_normed-1": "model.layers.1.self_attn.q_norm",
    "Qcur-1#2": "model.layers.1.self_attn.apply_rotary_pos_emb",
    "Kcur-2#2": "model.layers.2.self_attn.apply_rotary_pos_emb:out1",
    "kqv_out-2": "model.layers.2.self_attn.o_proj:in0",
    "kqv_out-3+1": "model.layers.3.self_attn.o_proj",
    "ffn_up-3": "model.layers.3.mlp.up_proj",
    "ffn_swiglu-0": "model.layers.0.mlp.down_proj:in0",
    "l_out-3": "model.layers.3",
    "result_norm": "model.norm",
    "result_output": "output",
}


def test_exact_run_is_parity_with_no_map_file(tiny):
    result = compare_traces(tiny.ref, tiny.trace())
    assert result.status == "parity", [(e.name, e.port_name) for e in result.failing]
    paired = {e.port_name: e.ref_name for e in result.entries}
    for port, ref in MAPPED.items():
        assert paired.get(port) == ref, port
    assert len(result.entries) == 79 and all(e.method == "map" for e in result.entries)
    assert max(e.rel_l2 for e in result.entries) < 1e-5
    assert any("built-in name map" in n for n in result.notes)


def test_defaults_diverge_first_at_attention_as_precision(tiny):
    """Flash attention and the F16 KV cache: the first divergence is attention's output,
    named reduced precision, not a bug."""
    result = compare_traces(tiny.ref, tiny.trace(exact=False))
    first = result.first_divergence
    assert first.name == "model.layers.0.self_attn.o_proj:in0"
    assert first.entry.port_name == "kqv_out-0"
    assert first.causes[0].cause == "precision"
    assert "float16" in first.causes[0].detail
    assert any("llama.cpp's default settings" in note for note in result.notes)
    assert max(e.rel_l2 for e in result.entries) < 5e-3


def test_q8_0_damage_is_reported_per_layer_and_named_with_its_qtype(tiny):
    result = compare_traces(tiny.ref, tiny.trace("q8_0"))
    assert result.status == "divergent"
    out = {e.port_name: e for e in result.entries}
    growth = [out[f"l_out-{i}"].rel_l2 for i in range(4)]
    assert 1e-3 < growth[0] < growth[-1] < 6e-2  # measured 2.2e-2 -> 3.3e-2
    assert out["embd"].ok  # within Q8_0's tolerance (the tolerance knows the qtype)
    cause = result.first_divergence.causes[0]
    assert cause.cause == "precision" and cause.params["consistent_with"] == "Q8_0"


def test_wrong_rope_freq_base_is_named_at_the_rotary_output(tiny):
    result = compare_traces(tiny.ref, tiny.trace("rope_theta"))
    first = result.first_divergence
    assert first.name == "model.layers.0.self_attn.apply_rotary_pos_emb"
    assert first.entry.port_name == "Qcur-0#2"
    cause = first.causes[0]
    assert cause.cause == "rope_variant"
    assert cause.params["port_base"] == pytest.approx(1e6)
    assert cause.params["ref_base"] == pytest.approx(1e4)


def test_wrong_rms_eps_is_named_at_the_first_norm(tiny):
    result = compare_traces(tiny.ref, tiny.trace("rms_eps"))
    first = result.first_divergence
    assert first.name == "model.layers.0.input_layernorm"
    assert first.entry.port_name == "attn_norm-0"
    cause = first.causes[0]
    assert cause.cause == "norm_eps"
    assert cause.params["eps_port"] == pytest.approx(1e-2, rel=0.05)


@pytest.mark.parametrize(("arch", "pairs", "bias_add"), [("qwen2", 71, True), ("llama", 71, False)])
def test_the_family_map_covers_qwen2_and_llama(llama_cpp, tmp_path, arch, pairs, bias_add):
    """Qwen2: the projection is the bias ADD after the MUL_MAT, its reshape RoPE's input.
    Llama: the converter permutes Q/K rows for llama.cpp's RoPE; the rope_rows convention
    reads them back (test_llama_rows.py). Both at parity with no map file."""
    from tiny_lm import build_model, capture_reference, write_gguf

    from audioparity.sources.llamacpp import capture_llamacpp

    model = build_model(arch)
    ref = capture_reference(model, PROMPT, tmp_path / "ref.safetensors")
    port = tmp_path / "llama.safetensors"
    capture_llamacpp(write_gguf(model, tmp_path / f"{arch}.gguf"), PROMPT, port)
    result = compare_traces(ref, port)
    assert result.status == "parity", [(e.name, e.port_name) for e in result.failing]
    assert len(result.entries) == pairs and all(e.method == "map" for e in result.entries)
    paired = {e.port_name: e.ref_name for e in result.entries}
    projection = "kqv_out-1+1" if bias_add else "attn_out-1"  # llama names it, qwen2 does not
    assert paired[projection] == "model.layers.1.self_attn.o_proj"
    if bias_add:
        assert paired["Qcur-1#1"] == "model.layers.1.self_attn.q_proj"  # MUL_MAT, then ADD
        assert paired["Kcur-1#2"] == "model.layers.1.self_attn.apply_rotary_pos_emb:in1"
    else:
        assert paired["Qcur-1"] == "model.layers.1.self_attn.q_proj"  # MUL_MAT, no bias


def test_generation_steps_compare_with_transformers_generate(tiny, tmp_path):
    """transformers' generate (KV cache) captured per step against llama.cpp's decode
    steps: @0/ the prompt, @1/ and @2/ one token each, at parity step by step."""
    from audioparity.sources.llamacpp import capture_llamacpp

    ref = capture_generate(tiny.model, tmp_path / "ref-steps.safetensors")
    port = tmp_path / "llama-steps.safetensors"
    capture_llamacpp(tiny.gguf(), PROMPT, port, generate=2)
    result = compare_traces(ref, port)
    assert result.status == "parity", [(e.name, e.port_name) for e in result.failing]
    steps = {e.name.split("/", 1)[0] for e in result.entries}
    # generate computes the prompt step's logits for the last position only, llama.cpp for
    # every token: that one pair has no common shape and stays unaligned
    assert steps == {"@0", "@1", "@2"} and len(result.entries) == 3 * 79 - 1
    assert "@0/result_output" not in {e.port_name for e in result.entries}
    assert {e.port_name for e in result.entries} >= {"@2/Qcur-3#2", "@2/result_output"}
