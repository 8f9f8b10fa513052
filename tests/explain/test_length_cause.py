"""``length``: lengths differ along one axis and the overlap matches (real torch convs, a
real compare run on npz traces)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audioparity.compare import compare_traces
from audioparity.explain import explain_pair


def _conv_transpose_pair(output_padding: int):
    torch.manual_seed(0)
    x = torch.randn(1, 16, 128)
    conv = torch.nn.ConvTranspose1d(16, 32, 8, stride=4, padding=2)
    ref = conv(x).detach().numpy()
    conv.output_padding = (output_padding,)
    return ref, conv(x).detach().numpy()


def test_conv_transpose_output_padding_is_one_extra_sample_at_the_end():
    ref, port = _conv_transpose_pair(1)
    assert (ref.shape, port.shape) == ((1, 32, 512), (1, 32, 513))
    top = explain_pair(ref, port)[0]
    assert top.cause == "length" and top.confidence > 0.9
    assert (top.params["axis"], top.params["side"], top.params["extra"]) == (2, "end", 1)
    assert not top.params["zero_padding"]
    assert "output_padding" in top.hint


def test_port_truncated_at_the_end_is_length_not_unknown():
    torch.manual_seed(1)
    ref = torch.nn.Conv1d(4, 8, 3, padding=1)(torch.randn(1, 4, 300)).detach().numpy()
    top = explain_pair(ref, ref[..., :150])[0]
    assert top.cause == "length"
    assert (top.params["side"], top.params["extra"], top.params["end"]) == ("end", -150, -150)


def test_zero_padding_at_the_end_is_named_padding():
    ref = np.random.default_rng(2).normal(size=(2, 300)).astype(np.float32)
    top = explain_pair(ref, np.pad(ref, ((0, 0), (0, 20))))[0]
    assert top.cause == "length" and top.params["zero_padding"]
    assert (top.params["side"], top.params["extra"]) == ("end", 20)
    assert "zero padding" in top.detail


def test_crop_at_the_front_is_length_at_the_start_ranked_over_shift():
    ref = np.random.default_rng(3).normal(size=(2, 300)).astype(np.float32)
    findings = explain_pair(ref, ref[:, 40:])
    assert findings[0].cause == "length"
    assert (findings[0].params["side"], findings[0].params["start"]) == ("start", -40)
    assert "shift" in [f.cause for f in findings[1:]]  # the same fact, said as a lag


def test_conv_padding_same_vs_valid_is_a_centred_trim():
    torch.manual_seed(4)
    x = torch.randn(1, 8, 200)
    conv = torch.nn.Conv1d(8, 8, 5, padding=2)
    ref = conv(x).detach().numpy()
    conv.padding = (0,)
    top = explain_pair(ref, conv(x).detach().numpy())[0]
    assert top.cause == "length" and top.params["side"] == "both"
    assert (top.params["start"], top.params["end"]) == (-2, -2)
    assert "padding" in top.hint


def test_istft_center_trim_is_a_centred_trim():
    torch.manual_seed(5)
    n_fft, hop = 64, 16
    audio = torch.randn(4000)
    window = torch.hann_window(n_fft)
    spec = torch.stft(audio, n_fft, hop, window=window, center=True, return_complex=True)
    ref = torch.istft(spec, n_fft, hop, window=window, center=True).numpy()[None]
    # the port overlap-adds every frame and keeps the centre padding (no trim)
    frames = torch.fft.irfft(spec, n_fft, dim=0) * window[:, None]
    n = n_fft + hop * (spec.shape[1] - 1)
    out = torch.nn.functional.fold(frames[None], (1, n), (1, n_fft), stride=(1, hop))
    env = torch.nn.functional.fold((window ** 2)[:, None].expand(-1, spec.shape[1])[None],
                                   (1, n), (1, n_fft), stride=(1, hop))
    port = (out / env.clamp_min(1e-11)).reshape(1, -1).numpy()
    assert port.shape[1] == ref.shape[1] + n_fft
    keep = slice(n_fft, -n_fft)  # the outermost samples have a near-zero envelope
    top = explain_pair(ref[:, keep], port[:, keep])[0]
    assert top.cause == "length" and top.params["side"] == "both"
    assert (top.params["start"], top.params["end"]) == (n_fft // 2, n_fft // 2)
    assert not top.params["zero_padding"]
    assert "center=" in top.hint


@pytest.mark.parametrize(("ref", "port", "words"), [
    (np.ones((2, 300), np.float32), np.ones((2, 100), np.float32), "more than half"),
    (np.arange(300)[None], np.arange(290)[None], "not float"),
    (np.full((2, 300), np.nan, np.float32), np.full((2, 290), np.nan, np.float32),
     "non-finite"),
    (np.ones((3, 300), np.float32), np.ones((2, 290), np.float32), "2 axes differ"),
    (np.ones((2, 300), np.complex64), np.ones((2, 290), np.complex64), "complex"),
    (np.ones((2, 300), np.float32), np.ones((2, 0), np.float32), "empty"),
])
def test_unfittable_length_pairs_are_unknown_with_the_reason(ref, port, words):
    findings = explain_pair(ref, port)
    assert [f.cause for f in findings] == ["unknown"]
    assert words in findings[0].detail


def test_flat_overlap_is_ambiguous_and_not_named():
    ref = np.ones((2, 300), np.float32)
    assert explain_pair(ref, ref[:, :290])[0].cause == "unknown"


def test_compare_explains_a_shape_mismatched_first_divergence(tmp_path):
    ref, port = _conv_transpose_pair(1)
    np.savez(tmp_path / "ref.npz", **{"decoder.up": ref})
    np.savez(tmp_path / "port.npz", **{"decoder.up": port})
    result = compare_traces(tmp_path / "ref.npz", tmp_path / "port.npz")
    first = result.first_divergence
    assert first is not None and first.name == "decoder.up"
    assert first.causes[0].cause == "length" and first.causes[0].params["extra"] == 1
