"""scale, affine, sign, shift, reversed: the port is a simple transform of the reference,
reproduced with the real ops that produce them (torch.istft, mel transforms, trims)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audioparity.explain import ExplainContext, explain_pair


def _istft_parts(n_fft: int = 2048, hop: int = 512, frames: int = 40, seed: int = 0):
    """A Vocos-style ISTFT head: a random complex spectrum, and its overlap-added signal
    before any trimming (irfft, Hann window, ``fold``, divided by the window envelope)."""
    g = torch.Generator().manual_seed(seed)
    mag = torch.exp(0.5 * torch.randn(1, n_fft // 2 + 1, frames, generator=g))
    phase = 2 * torch.pi * torch.rand(1, n_fft // 2 + 1, frames, generator=g)
    spec = torch.polar(mag, phase)
    window = torch.hann_window(n_fft)
    seg = torch.fft.irfft(spec, n_fft, dim=1) * window[None, :, None]
    size = (frames - 1) * hop + n_fft
    fold = torch.nn.functional.fold
    y = fold(seg, (1, size), (1, n_fft), stride=(1, hop))[:, 0, 0]
    env = fold(window.square().expand(1, frames, -1).transpose(1, 2), (1, size), (1, n_fft),
               stride=(1, hop))[:, 0, 0]
    full = y / env.clamp(min=1e-11)
    return spec, window, full


def test_istft_divided_by_n_fft_is_scale_named_1_over_n_fft():
    n_fft, hop = 2048, 512
    spec, window, _ = _istft_parts(n_fft, hop)
    ref = torch.istft(spec, n_fft, hop, n_fft, window, center=True).numpy()
    port = (ref / n_fft).astype(np.float32)
    top = explain_pair(ref, port)[0]
    assert top.cause == "scale"
    assert top.params["c"] == pytest.approx(1 / n_fft, rel=0.01)
    assert "1/n_fft" in top.detail and "1/2048" in top.params["constant"]


def test_scale_with_bf16_port_still_named_scale():
    ref = torch.randn(4, 256, 64)
    port = (ref / np.sqrt(64)).bfloat16().float()
    top = explain_pair(ref.numpy(), port.numpy(), ExplainContext(port_dtype="bfloat16"))[0]
    assert top.cause == "scale"
    assert top.params["c"] == pytest.approx(1 / 8, rel=0.01)
    assert "head_dim" in top.params["constant"]


def test_bogus_mel_transform_is_affine_with_a_and_b():
    mel = torch.log(torch.clamp(torch.rand(1, 80, 120) ** 4, min=1e-5)).numpy()  # log-mel
    port = mel * 0.75 - 5.0
    top = explain_pair(mel, port)[0]
    assert top.cause == "affine"
    assert top.params["a"] == pytest.approx(0.75, rel=0.01)
    assert top.params["b"] == pytest.approx(-5.0, rel=0.01)


def test_negated_port_is_sign_not_scale():
    ref = torch.randn(2, 16, 33).numpy()
    causes = [f.cause for f in explain_pair(ref, -ref)]
    assert causes[0] == "sign" and "scale" not in causes


def test_istft_padding_win_half_instead_of_win_minus_hop_half_is_shift_of_256():
    n_fft, hop = 2048, 512
    _, _, full = _istft_parts(n_fft, hop, frames=60)
    full = full.numpy()[0]
    ref_pad, port_pad = (n_fft - hop) // 2, n_fft // 2          # 768 vs 1024
    length = full.size - 2 * port_pad
    ref = full[ref_pad:ref_pad + length][None]
    port = full[port_pad:port_pad + length][None]
    top = explain_pair(ref, port)[0]
    assert top.cause == "shift"
    assert top.params["k"] == -(port_pad - ref_pad) and top.params["axis"] == 1


def test_causal_transconv_trimmed_left_instead_of_right_is_shift():
    torch.manual_seed(0)
    conv = torch.nn.ConvTranspose1d(8, 8, kernel_size=8, stride=4)
    with torch.no_grad():
        conv.weight.mul_(3.0)
    x = torch.randn(1, 8, 50)
    y = conv(x).detach()
    trim = 8 - 4
    ref = y[..., :-trim].numpy()       # reference trims the right side
    port = y[..., trim:].numpy()       # port trims the left side
    top = explain_pair(ref, port)[0]
    assert top.cause == "shift"
    assert top.params["k"] == -trim and top.params["axis"] == 2


def test_shift_with_different_lengths_is_found():
    rng = np.random.default_rng(1)
    audio = np.convolve(rng.normal(size=20000), np.hanning(32), "same")
    ref, port = audio[:16000], audio[100:16050]
    top = explain_pair(ref, port)[0]
    assert top.cause == "shift" and top.params["k"] == -100


def test_time_reversed_port_is_reversed_on_that_axis():
    x = torch.randn(1, 4, 200).cumsum(-1).numpy()
    top = explain_pair(x, x[..., ::-1].copy())[0]
    assert top.cause == "reversed" and top.params["axis"] == 2
