"""``precision`` only speaks when a dtype, a GGUF type or the values' bf16 grid supports it."""

from __future__ import annotations

import numpy as np
import torch

from audioparity.explain import ExplainContext, explain_pair, signatures


def _precision():
    return signatures(["precision"])[0].match


def test_f32_phase_accumulator_drift_lists_no_precision_between_f32_tensors():
    f0 = 220 + 30 * np.sin(2 * np.pi * 0.5 * np.arange(24000 * 3) / 24000)
    inc = 2 * np.pi * f0 / 24000
    ref = np.sin(np.cumsum(inc)).astype(np.float32)
    port = torch.sin(torch.cumsum(torch.from_numpy(inc).float(), 0)).numpy()
    causes = [f.cause for f in explain_pair(ref, port)]
    assert "precision" not in causes


def test_gelu_tanh_vs_erf_between_f32_tensors_is_not_called_rounding():
    x = torch.randn(8, 512)
    ref = torch.nn.functional.gelu(x).numpy()
    port = torch.nn.functional.gelu(x, approximate="tanh").numpy()
    assert _precision()(ref, port, ExplainContext()) is None
    assert "precision" not in [f.cause for f in explain_pair(ref, port)]


def test_same_difference_is_precision_when_a_side_is_declared_half():
    torch.manual_seed(0)
    lin = torch.nn.Linear(256, 256)
    x = torch.randn(4, 32, 256)
    ref = lin(x).detach().numpy()
    port = lin.half()(x.half()).float().detach().numpy()
    assert _precision()(ref, port, ExplainContext()) is None  # not on the bf16 grid
    hit = _precision()(ref, port, ExplainContext(port_dtype="float16"))
    assert hit is not None and hit.params["consistent_with"] == "float16"


def test_bf16_grid_of_the_values_is_evidence_without_a_declared_dtype():
    ref = torch.randn(64, 256)
    hit = _precision()(ref.numpy(), ref.bfloat16().float().numpy(), ExplainContext())
    assert hit is not None and "bf16 grid" in hit.detail


def test_f32_layernorm_fed_bf16_values_is_precision_through_its_recorded_input():
    torch.manual_seed(1)
    x = torch.randn(1, 21, 32) * 3
    norm = torch.nn.LayerNorm(32)
    ref = norm(x).detach().numpy()
    x_bf16 = x.bfloat16().float()                    # the port's upstream ran in bf16
    port = norm(x_bf16).detach().numpy()             # ... and this norm upcasts to f32
    name = "decoder.norm"
    bare = ExplainContext(name=name)
    assert _precision()(ref, port, bare) is None
    ctx = ExplainContext(name=name, get_ref={f"{name}:in0": x.numpy()}.get,
                         get_port={f"{name}:in0": x_bf16.numpy()}.get)
    top = explain_pair(ref, port, ctx)[0]
    assert top.cause == "precision" and top.params["consistent_with"] == "bfloat16 input"


def test_bf16_features_recorded_upstream_support_precision_downstream():
    torch.manual_seed(2)
    feats = torch.randn(1, 21, 32)
    norm = torch.nn.LayerNorm(32)
    ref = norm(feats).detach().numpy()
    port = norm(feats.bfloat16().float()).detach().numpy()   # only the features were bf16
    assert _precision()(ref, port, ExplainContext()) is None
    ctx = ExplainContext(upstream_dtypes={"port": ("bfloat16", "float32")})
    hit = _precision()(ref, port, ctx)
    assert hit is not None and hit.params["consistent_with"] == "bfloat16 input"
    assert "bfloat16 tensors recorded upstream" in hit.detail
