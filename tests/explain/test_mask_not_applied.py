"""A causal mask that is passed but not applied (a 0/1 float mask added to the scores, as
mlx-audio's Bark GPT does) is named ``mask``: from the layer's recorded q, k, v (separate or a
fused q|k|v projection) as the 0/1 mask added, from the pair alone as "only the last position
exact, the error shrinking toward it" — even on a short prompt."""

from __future__ import annotations

import numpy as np
import torch
from attention_cases import PREFIX, run

from audioparity.explain import ExplainContext, explain_pair

OUT = f"{PREFIX}.o_proj"


def _added_01(t: int) -> torch.Tensor:
    """The causal mask as 0/1 floats, handed to an additive mask argument."""
    return torch.ones(t, t).tril()[None, None]


def test_a_causal_mask_added_as_floats_is_named_from_the_recorded_qkv():
    ref, port = run(48), run(48, mask=_added_01(48))
    top = explain_pair(ref[OUT], port[OUT], ExplainContext(name=OUT, get_ref=ref.get))[0]
    assert top.cause == "mask" and top.confidence > 0.85
    assert top.params["kind"] == "float_added"
    assert "-inf" in top.hint and "booleans" in top.hint


def test_a_fused_qkv_projection_is_split_into_heads_to_rebuild_the_attention():
    """Bark/GPT-2 style: one Linear gives q|k|v; torch's SDPA adds a float mask."""
    t, c, heads = 12, 32, 2
    gen = torch.Generator().manual_seed(3)
    att_proj = torch.nn.Linear(c, 3 * c, bias=False)
    torch.nn.init.normal_(att_proj.weight, std=0.3, generator=gen)
    x = torch.randn(1, t, c, generator=gen)

    def core(**mask) -> np.ndarray:
        with torch.no_grad():
            q, k, v = (z.view(1, t, heads, c // heads).transpose(1, 2)
                       for z in att_proj(x).split(c, dim=-1))
            y = torch.nn.functional.scaled_dot_product_attention(q, k, v, **mask)
        return y.transpose(1, 2).reshape(1, t, c).numpy()

    name = "layers.0.attn.out_proj:in0"
    with torch.no_grad():
        recorded = {"layers.0.attn.att_proj": att_proj(x).numpy()}
    ref, port = core(is_causal=True), core(attn_mask=_added_01(t))
    top = explain_pair(ref, port, ExplainContext(name=name, get_ref=recorded.get))[0]
    assert top.cause == "mask" and top.params["kind"] == "float_added"
    assert "2 heads, no RoPE, causal" in top.detail
    # the bare pair still says a causal mask is missing or not applied, with less certainty
    bare = explain_pair(ref, port)[0]
    assert bare.cause == "mask" and bare.params["kind"] == "suffix_exact"
    assert bare.confidence < top.confidence


def test_only_the_last_position_exact_on_a_short_prompt_is_a_mask_not_applied():
    ref, port = run(12), run(12, mask=_added_01(12))
    top = explain_pair(ref[OUT], port[OUT])[0]      # nothing recorded around the pair
    assert top.cause == "mask" and 0.3 < top.confidence <= 0.5
    assert (top.params["kind"], top.params["k"], top.params["exact_positions"]) == (
        "suffix_exact", 11, 1)
    assert top.params["error_trend"] <= -0.5
    assert "not applied" in top.hint and "-inf" in top.hint


def test_a_short_axis_whose_error_does_not_shrink_toward_the_exact_end_is_not_a_mask():
    """Twelve rows, the last exact by chance, the error growing toward it: not the pattern
    of a causal mask left out (each earlier query would see more future keys)."""
    rng = np.random.default_rng(5)
    ref = rng.standard_normal((1, 12, 32)).astype(np.float32)
    growth = np.r_[np.linspace(0.1, 1.0, 11), 0.0].astype(np.float32)[None, :, None]
    port = ref + growth * rng.standard_normal(ref.shape).astype(np.float32)
    assert "mask" not in [f.cause for f in explain_pair(ref, port)]
