"""RoPE vs mask vs GQA at a real HF Qwen3 attention layer: with the layer's q, k, v recorded
the catalogue rebuilds the attention and names the form that reproduces the port; at the
rotary call's output it needs nothing but the pair."""

from __future__ import annotations

import numpy as np
import pytest
from attention_cases import (
    PREFIX,
    ROPE,
    causal_mask,
    interleaved,
    partial,
    run,
    tile_kv,
)

from audioparity.explain import ExplainContext, explain_pair

T = 48
OUT = f"{PREFIX}.o_proj"


def _wrong_theta(x, cos, sin):
    return partial(x, x.shape[-1], 1e4, x.shape[-2])   # the reference uses 1e6


def _half_rotary(x, cos, sin):
    return partial(x, x.shape[-1] // 2, 1e6, x.shape[-2])


ROPE_CASES = {
    "interleaved_q": ({"rope_q": interleaved}, "q", {"port": "interleaved"}),
    "interleaved_k": ({"rope_k": interleaved}, "k", {"port": "interleaved"}),
    "interleaved_both": ({"rope_q": interleaved, "rope_k": interleaved}, "both",
                         {"port": "interleaved"}),
    "theta_1e4": ({"rope_q": _wrong_theta, "rope_k": _wrong_theta}, "both",
                  {"ref_base": 1e6, "port_base": 1e4}),
    "partial_rotary": ({"rope_q": _half_rotary, "rope_k": _half_rotary}, "both",
                       {"rotary_dim_port": 16, "rotary_dim_ref": 32}),
}


@pytest.fixture(scope="module")
def ref():
    return run(T)


def _without_rotary_call(rec: dict) -> dict:
    """What a capture without ``functions=`` records: q_norm/k_norm outputs, not the call."""
    kept = {k: v for k, v in rec.items() if not k.startswith(ROPE)}
    kept[f"{PREFIX}.q_norm"] = rec[f"{ROPE}:in0"].transpose(0, 2, 1, 3)
    kept[f"{PREFIX}.k_norm"] = rec[f"{ROPE}:in1"].transpose(0, 2, 1, 3)
    return kept


@pytest.mark.parametrize("recorded", ["rotary_call", "q_k_norm"])
@pytest.mark.parametrize("case", sorted(ROPE_CASES))
def test_rope_error_at_attention_output_is_rope_variant_not_mask(ref, case, recorded):
    kwargs, target, expected = ROPE_CASES[case]
    port = run(T, **kwargs)
    tensors = ref if recorded == "rotary_call" else _without_rotary_call(ref)
    findings = explain_pair(ref[OUT], port[OUT], ExplainContext(name=OUT, get_ref=tensors.get))
    top = findings[0]
    assert top.cause == "rope_variant" and top.confidence > 0.9
    assert top.params["applied_to"] == target
    assert {k: top.params[k] for k in expected} == expected
    assert "mask" not in [f.cause for f in findings]


@pytest.mark.parametrize(("mask", "expected"), [
    (causal_mask(T, window=1), {"kind": "window", "k": 1}),
    (causal_mask(T, window=8), {"kind": "window", "k": 8}),
    (causal_mask(T, causal=False), {"kind": "bidirectional"}),
])
def test_mask_error_at_attention_output_is_mask_with_its_form(ref, mask, expected):
    port = run(T, mask=mask)
    findings = explain_pair(ref[OUT], port[OUT], ExplainContext(name=OUT, get_ref=ref.get))
    assert findings[0].cause == "mask" and findings[0].confidence > 0.85
    assert {k: findings[0].params[k] for k in expected} == expected
    assert "rope_variant" not in [f.cause for f in findings]


def test_gqa_kv_heads_tiled_is_a_permutation_of_kv_heads(ref):
    port = run(T, expand=tile_kv)
    top = explain_pair(ref[OUT], port[OUT], ExplainContext(name=OUT, get_ref=ref.get))[0]
    assert top.cause == "permutation"
    assert top.params["order"] == [0, 1, 0, 1] and top.params["expected"] == [0, 0, 1, 1]
    assert "repeat_interleave" in top.hint


def test_gqa_tiled_on_the_core_output_before_o_proj(ref):
    port = run(T, expand=tile_kv)
    name = f"{OUT}:in0"
    top = explain_pair(ref[name], port[name], ExplainContext(name=name, get_ref=ref.get))[0]
    assert top.cause == "permutation" and top.params["order"] == [0, 1, 0, 1]


@pytest.mark.parametrize("case", sorted(ROPE_CASES))
def test_rope_error_at_the_rotary_output_is_rope_variant_from_outputs_only(ref, case):
    kwargs, target, expected = ROPE_CASES[case]
    port = run(T, **kwargs)
    names = {"q": [ROPE], "k": [f"{ROPE}:out1"], "both": [ROPE, f"{ROPE}:out1"]}[target]
    for name in names:
        findings = explain_pair(ref[name], port[name])
        assert findings[0].cause == "rope_variant"
        fitted = {k: findings[0].params.get(k) for k in expected}
        assert fitted == expected
        assert "mask" not in [f.cause for f in findings]   # position 0 exact: a rotation


def test_attention_output_without_anything_recorded_says_mask_is_ambiguous(ref):
    port = run(T, rope_k=interleaved)
    findings = explain_pair(ref[OUT], port[OUT])
    top = findings[0]
    assert top.cause == "mask" and top.confidence <= 0.3
    assert top.params["ambiguous_with"] == "rope_variant" and "RoPE" in top.hint


def test_a_layer_the_rebuild_cannot_reproduce_is_left_to_the_other_signatures(ref):
    port = run(T, mask=causal_mask(T, window=8))
    wrong = dict(ref)
    wrong[f"{PREFIX}.v_proj"] = np.zeros_like(ref[f"{PREFIX}.v_proj"])   # not this layer's v
    top = explain_pair(ref[OUT], port[OUT], ExplainContext(name=OUT, get_ref=wrong.get))[0]
    assert top.cause == "mask" and top.params["kind"] == "prefix_exact"
    assert top.params["k"] == 8
