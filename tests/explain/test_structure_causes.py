"""mask (sliding window vs causal, causal vs bidirectional, padding), drift (f32 phase
cumsum), weights_not_loaded (a layer left at init) and unknown (pattern description)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from audioparity.explain import ExplainContext, explain_pair


def _attn(x: torch.Tensor, mask: torch.Tensor | None = None, causal: bool = False):
    return F.scaled_dot_product_attention(x, x, x, attn_mask=mask, is_causal=causal)


def test_sliding_window_applied_as_full_causal_is_mask_at_window():
    torch.manual_seed(0)
    x = torch.randn(1, 4, 64, 32)
    window = 16
    sliding = torch.ones(64, 64).tril().triu(-(window - 1)).bool()
    top = explain_pair(_attn(x, sliding).numpy(), _attn(x, causal=True).numpy())[0]
    assert top.cause == "mask"
    assert (top.params["axis"], top.params["k"]) == (2, window)
    assert top.params["kind"] == "prefix_exact"


def test_causal_port_of_bidirectional_ref_is_mask_exact_at_the_end():
    torch.manual_seed(1)
    x = torch.randn(1, 2, 24, 16)
    top = explain_pair(_attn(x).numpy(), _attn(x, causal=True).numpy())[0]
    assert top.cause == "mask"
    assert top.params["kind"] == "suffix_exact" and top.params["k"] == 23


def test_unmasked_padding_frames_are_mask_from_valid_length():
    torch.manual_seed(2)
    conv = torch.nn.Conv1d(16, 16, 3, padding=1)
    h = conv(torch.randn(1, 16, 80)).detach()
    valid = 57
    ref = h.clone()
    ref[..., valid:] = 0.0                              # reference zeroes padded frames
    top = explain_pair(ref.numpy(), h.numpy())[0]
    assert top.cause == "mask" and (top.params["axis"], top.params["k"]) == (2, valid)


def test_f32_phase_cumsum_is_drift_along_time():
    sr, n = 24000, 96000
    f0 = 220 + 30 * np.sin(np.linspace(0, 6, n))
    step = 2 * np.pi * f0 / sr
    ref = np.sin(np.cumsum(step))[None]                 # f64 phase, as the reference
    port = torch.sin(torch.cumsum(torch.from_numpy(step).float(), 0)).numpy()[None]
    top = explain_pair(ref, port)[0]
    assert top.cause == "drift" and top.params["axis"] == 1
    assert top.params["end"] > 10 * top.params["start"]


def test_decoder_left_at_init_is_weights_not_loaded():
    torch.manual_seed(0)
    trained = torch.nn.Conv1d(32, 80, 3, padding=1)
    fresh = torch.nn.Conv1d(32, 80, 3, padding=1)
    with torch.no_grad():
        trained.weight.copy_(0.3 * torch.randn_like(trained.weight))
        trained.bias.fill_(-6.0)                         # log-mel range, all negative
    x = torch.randn(1, 32, 120)
    ref, port = trained(x).detach().numpy(), fresh(x).detach().numpy()
    ctx = ExplainContext(name="decoder", get_ref={"decoder:in0": x.numpy()}.get,
                         get_port={"decoder:in0": x.numpy()}.get)
    top = explain_pair(ref, port, ctx)[0]
    assert top.cause == "weights_not_loaded"
    assert top.params["input_matches"] is True and top.confidence > 0.7


def test_unknown_describes_error_in_one_head():
    torch.manual_seed(3)
    ref = torch.randn(1, 8, 40, 32).numpy()
    port = ref.copy()
    port[0, 5] = torch.randn(40, 32).numpy()
    findings = explain_pair(ref, port)
    assert findings[-1].cause == "unknown" or findings[0].cause == "unknown"
    unknown = next(f for f in findings if f.cause == "unknown")
    conc = unknown.params["concentration"]
    assert (conc["axis"], conc["index"]) == (1, 5) and "slice 5 of axis 1" in unknown.detail


def test_zero_vs_reflect_padding_is_unknown_pointing_at_both_edges():
    torch.manual_seed(4)
    ref_conv = torch.nn.Conv1d(8, 8, 9, padding=4, padding_mode="reflect")
    port_conv = torch.nn.Conv1d(8, 8, 9, padding=4)
    port_conv.load_state_dict(ref_conv.state_dict())
    x = torch.randn(1, 8, 200)
    findings = explain_pair(ref_conv(x).detach().numpy(), port_conv(x).detach().numpy())
    assert findings[0].cause == "unknown"
    conc = findings[0].params["concentration"]
    assert conc["axis"] == 2 and conc["where"] == "first and last"
    assert "padding" in findings[0].detail
