"""dropped: a port tensor that carries nothing (zeros, one value, one row broadcast) where
the reference varies, on real torch modules; and where it must step aside."""

from __future__ import annotations

import numpy as np
import torch

from audioparity.explain import ExplainContext, explain_pair


def _proj() -> torch.nn.Sequential:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(24, 32, bias=False), torch.nn.SiLU(),
                               torch.nn.Linear(32, 32))


@torch.no_grad()
def test_conditioning_fed_as_zeros_is_dropped_throughout():
    proj, text = _proj(), torch.randn(2, 7, 24)
    ref, port = proj[0](text).numpy(), proj[0](torch.zeros_like(text)).numpy()
    top = explain_pair(ref, port)[0]
    assert top.cause == "dropped"
    assert top.params == {"axis": None, "value": 0.0}


@torch.no_grad()
def test_conditioning_dropped_after_a_biased_layer_is_constant_along_tokens():
    proj, text = _proj(), torch.randn(2, 7, 24)
    ref, port = proj(text).numpy(), proj(torch.zeros_like(text)).numpy()
    top = explain_pair(ref, port)[0]
    assert top.cause == "dropped"
    assert top.params["axis"] == 1 and 0 in top.params["axes"]


@torch.no_grad()
def test_first_frame_broadcast_to_all_frames_is_dropped_along_time():
    torch.manual_seed(1)
    conv = torch.nn.Conv1d(8, 16, 3, padding=1)
    ref = conv(torch.randn(1, 8, 40)).numpy()
    port = np.repeat(ref[:, :, :1], 40, axis=2)  # a port that reads only frame 0
    top = explain_pair(ref, port)[0]
    assert top.cause == "dropped" and top.params["axis"] == 2


@torch.no_grad()
def test_zero_weights_with_a_matching_input_is_not_dropped():
    proj, x = _proj(), torch.randn(1, 9, 32)
    fresh = torch.nn.Linear(32, 32)
    torch.nn.init.zeros_(fresh.weight)
    ref, port = proj[2](x).numpy(), fresh(x).numpy()
    inputs = {"layer:in0": x.numpy()}
    ctx = ExplainContext(name="layer", get_ref=inputs.get, get_port=inputs.get)
    causes = [f.cause for f in explain_pair(ref, port, ctx)]
    assert "dropped" not in causes and causes[0] == "weights_not_loaded"


def test_a_constant_reference_is_not_dropped():
    ref = np.full((4, 16), 0.5, np.float32)
    port = np.full((4, 16), 0.25, np.float32)
    assert "dropped" not in [f.cause for f in explain_pair(ref, port)]
