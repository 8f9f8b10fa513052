"""Compound differences: mlx-audio's ISTFT (window-sum normalisation, symmetric Hann, DC and
Nyquist bins) against torch.istft on a vocoder head's spectrum."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import torch

from audioparity.explain import ExplainContext, explain_pair

N_FFT, HOP = 64, 16


def _head_spectrum(frames: int = 400) -> torch.Tensor:
    """A vocoder head's output: magnitude and phase per bin, not a consistent STFT."""
    g = torch.Generator().manual_seed(0)
    bins = N_FFT // 2 + 1
    mag = torch.exp(0.5 * torch.randn(bins, frames, generator=g) - 1)
    phase = 2 * np.pi * torch.rand(bins, frames, generator=g)
    return (mag * torch.exp(1j * phase))[None]


def _mlx_style_istft(spec: torch.Tensor, length: int, *, norm: float = 2.0,
                     zero_edges: bool = True) -> torch.Tensor:
    """Overlap-add with a symmetric Hann window, divided by a constant, DC/Nyquist zeroed."""
    s = spec[0].clone()
    if zero_edges:
        s[0] = 0
        s[-1] = 0
    window = torch.hann_window(N_FFT, periodic=False)
    frames = torch.fft.irfft(s, N_FFT, dim=0) * window[:, None]
    total = N_FFT + HOP * (s.shape[-1] - 1)
    ola = torch.nn.functional.fold(frames[None], (1, total), (1, N_FFT), stride=(1, HOP))
    return (ola.reshape(-1) / norm)[N_FFT // 2:N_FFT // 2 + length][None]


@pytest.fixture(scope="module")
def istft_pair():
    spec = _head_spectrum()
    ref = torch.istft(spec, N_FFT, HOP, window=torch.hann_window(N_FFT), center=True)
    port = _mlx_style_istft(spec, ref.shape[-1])
    return spec.numpy(), ref.numpy(), port.numpy()


def test_scale_plus_unexplained_rest_without_the_input(istft_pair):
    _, ref, port = istft_pair
    findings = explain_pair(ref, port)
    top = findings[0]
    assert top.cause == "scale" and top.params["compound"]
    assert top.params["c"] == pytest.approx(0.73, abs=0.03)
    assert top.params["parts"][0]["share"] > 0.75
    assert 0.3 <= top.confidence <= 0.5
    assert findings[-1].cause == "unknown"


def test_scale_plus_window_difference_from_the_recorded_spectrum(istft_pair):
    spec, ref, port = istft_pair
    ctx = ExplainContext(name="vocoder.istft", get_ref={"vocoder.istft:in0": spec}.get)
    top = explain_pair(ref, port, ctx)[0]
    assert top.cause == "scale" and top.params["compound"]
    scale, window = top.params["parts"]
    assert scale["cause"] == "scale" and window["form"] == "istft_window"
    assert scale["share"] > window["share"] > 0.1
    assert "symmetric Hann window (ref: periodic Hann window)" in window["differences"]
    assert "DC/Nyquist bins zeroed (ref: DC/Nyquist bins kept)" in window["differences"]
    assert "symmetric Hann" in top.detail


def test_a_single_scale_stays_a_plain_scale(istft_pair):
    _, ref, _ = istft_pair
    top = explain_pair(ref, ref / N_FFT)[0]
    assert top.cause == "scale" and "compound" not in top.params


def test_unrelated_outputs_are_no_compound():
    rng = np.random.default_rng(0)
    ref, port = rng.normal(size=(4, 512)), rng.normal(size=(4, 512))
    assert [f.cause for f in explain_pair(ref, port)] == ["unknown"]


def test_compound_example_runs():
    from audioparity.explain import compound

    failures, tried = doctest.testmod(compound)
    assert tried > 0 and failures == 0


def test_window_only_difference_is_unknown_that_names_the_istft_form(istft_pair):
    spec, ref, _ = istft_pair
    port = _mlx_style_istft(torch.from_numpy(spec), ref.shape[-1], norm=1.5,
                            zero_edges=False).numpy()        # only the window differs
    ctx = ExplainContext(name="vocoder.istft", get_ref={"vocoder.istft:in0": spec}.get)
    top = explain_pair(ref, port, ctx)[0]
    assert top.cause == "unknown"   # no cause in the vocabulary; the description names it
    form = top.params["istft_form"]
    assert "symmetric Hann window (ref: periodic Hann window)" in form["differences"]
    assert not any("DC/Nyquist" in d for d in form["differences"])
    assert "symmetric Hann" in top.hint
