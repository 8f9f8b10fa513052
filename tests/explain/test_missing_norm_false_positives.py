"""missing_norm must not be claimed where rows merely mix: an attention whose causal mask is
added to the scores instead of applied (a float ``tril(ones)`` mask, as one real MLX port
passes it) evens out the rows' RMS without any norm."""

from __future__ import annotations

import pytest
import torch

from audioparity.explain import explain_pair


def _attention(seed: int, tokens: int, heads: int, head_dim: int, mask: torch.Tensor | None):
    torch.manual_seed(seed)
    width = heads * head_dim
    x = torch.randn(1, tokens, width)
    wq, wk, wv = (torch.randn(width, width) / width ** 0.5 for _ in range(3))
    split = lambda t: t.reshape(1, tokens, heads, head_dim).transpose(1, 2)
    q, k, v = split(x @ wq), split(x @ wk), split(x @ wv)
    sdpa = torch.nn.functional.scaled_dot_product_attention
    out = sdpa(q, k, v, is_causal=True) if mask is None else sdpa(q, k, v, attn_mask=mask)
    return out.transpose(1, 2).reshape(1, tokens, width).numpy()  # what out_proj gets


# cases where the rows' RMS spreads differ three- to fourfold and rows agree to 0.93-0.98
@pytest.mark.parametrize(("seed", "heads", "head_dim"), [(5, 1, 32), (22, 2, 16), (22, 1, 32)])
def test_a_causal_mask_added_not_applied_is_no_missing_norm(seed, heads, head_dim):
    ref = _attention(seed, 12, heads, head_dim, None)
    port = _attention(seed, 12, heads, head_dim, torch.tril(torch.ones(12, 12)))
    causes = explain_pair(ref, port)
    assert causes and all(c.cause != "missing_norm" for c in causes), causes
