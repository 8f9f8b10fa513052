"""Signatures hold with bf16 rounding on the port's side (the usual second source of
difference), and the calibrated confidences rank the specific cause above generic ones."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from audioparity.explain import ExplainContext, explain_pair
from audioparity.explain.rope_math import half_split, interleaved, tables


def _bf16(x: np.ndarray) -> np.ndarray:
    return torch.from_numpy(np.ascontiguousarray(x, np.float32)).bfloat16().float().numpy()


def _case(cause: str, rng: np.random.Generator):
    torch.manual_seed(0)
    smooth = np.convolve(rng.normal(size=9000), np.hanning(32), "same")
    if cause == "layout":
        w = torch.nn.Conv1d(16, 24, 5).weight.detach().numpy()
        return w, np.ascontiguousarray(w.transpose(0, 2, 1)).reshape(w.shape)
    if cause == "shift":
        return smooth[None, :8000], smooth[None, 100:8100]
    if cause == "length":
        return smooth[None, :8000], smooth[None, :8013]
    if cause == "affine":
        mel = np.log(np.clip(rng.random((1, 80, 100)) ** 4, 1e-5, None))
        return mel, mel * 0.75 - 5.0
    if cause == "permutation":
        h = rng.normal(size=(1, 8, 60))
        return h, h[:, [1, 0, 2, 3, 4, 5, 6, 7]]
    if cause == "rope_variant":
        q = rng.normal(size=(1, 4, 20, 32))
        cos, sin = tables(np.arange(20), 32, 1e4)
        return half_split(q, cos, sin), interleaved(q, cos, sin)
    if cause == "missing_norm":
        x = torch.randn(1, 4, 24, 32) * (0.2 + 3 * torch.rand(1, 4, 24, 1))
        return torch.nn.RMSNorm(32)(x).detach().numpy(), x.numpy()
    if cause == "mask":
        x = torch.randn(1, 4, 64, 32)
        window = torch.ones(64, 64).tril().triu(-15).bool()
        return (F.scaled_dot_product_attention(x, x, x, attn_mask=window).numpy(),
                F.scaled_dot_product_attention(x, x, x, is_causal=True).numpy())
    if cause == "clipping":
        audio = rng.normal(size=(2, 8000)) * 0.5
        return audio, np.clip(audio, -1, 1)
    if cause == "sign":
        return smooth, -smooth
    return smooth[None, :800], smooth[None, :800][:, ::-1]          # reversed


CAUSES = ["layout", "shift", "length", "affine", "permutation", "rope_variant", "missing_norm", "mask",
          "clipping", "sign", "reversed"]


@pytest.mark.parametrize("cause", CAUSES)
def test_cause_is_top_with_and_without_bf16_port(cause):
    ref, port = _case(cause, np.random.default_rng(0))
    ref = np.asarray(ref, np.float32)
    clean = explain_pair(ref, np.asarray(port, np.float32))
    rounded = explain_pair(ref, _bf16(port), ExplainContext(port_dtype="bfloat16"))
    assert clean[0].cause == cause
    assert rounded[0].cause == cause
    assert all(f.confidence < clean[0].confidence for f in clean[1:])
