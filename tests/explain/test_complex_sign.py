"""``sign`` on complex pairs stored as their real ``[..., 2]`` view: a conjugated STFT (the
imaginary part negated) and minus its conjugate (the real part negated) are named only when
the context marks the pair complex (``compare`` and ``explain`` mark it from a complex dtype or
the trace meta); the same last axis of 2 unmarked is two channels, and one negated channel is a
polarity flip, never a conjugate."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from audioparity.explain import ExplainContext, explain_pair
from audioparity.trace import open_trace

_spec = importlib.util.spec_from_file_location(
    "complex_pair_builders", Path(__file__).parents[1] / "compare" / "test_complex_pairs.py")
builders = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(builders)


@pytest.fixture(scope="module")
def spectrum() -> torch.Tensor:
    """A onesided complex STFT of a voiced-speech-like signal, ``(1, 129, frames)``."""
    return torch.stft(builders._voice(), builders.N_FFT, builders.HOP,
                      window=torch.hann_window(builders.N_FFT), return_complex=True)


def _view(z: torch.Tensor) -> np.ndarray:
    return torch.view_as_real(z.resolve_conj()).numpy()


def _ctx(complex_pair: bool) -> ExplainContext:
    # previous_ok: the module's input matched, as compare says at a first divergence
    return ExplainContext(name="frontend", previous_ok=True, complex_pair=complex_pair)


def test_conjugated_stft_is_named_sign_on_the_imaginary_part(spectrum):
    findings = explain_pair(_view(spectrum), _view(spectrum.conj()), _ctx(True))
    top = findings[0]
    assert top.cause == "sign"
    assert top.params["part"] == "imag"
    assert top.params["residual"] < 1e-6
    assert top.confidence > 0.9
    assert "complex conjugate" in top.detail and "imaginary part negated" in top.detail
    assert "torch.stft" in top.hint and "conj" in top.hint
    assert all(f.confidence < top.confidence for f in findings[1:])


def test_minus_the_conjugate_is_named_sign_on_the_real_part(spectrum):
    top = explain_pair(_view(spectrum), _view(-spectrum.conj()), _ctx(True))[0]
    assert top.cause == "sign"
    assert top.params["part"] == "real"
    assert "real part negated" in top.detail
    # a negative gain on a conjugate is −conj times a positive one: the real part again
    halved = explain_pair(_view(spectrum), _view(-0.5 * spectrum.conj()), _ctx(True))[0]
    assert halved.params["part"] == "real"
    assert halved.params["gain"] == pytest.approx(0.5, rel=1e-5)


def test_whole_negation_of_a_complex_pair_is_plain_sign(spectrum):
    top = explain_pair(_view(spectrum), _view(-spectrum), _ctx(True))[0]
    assert top.cause == "sign"
    assert "part" not in top.params
    assert top.detail.startswith("port = -ref")


def test_unmarked_view_is_not_read_as_a_conjugate(spectrum):
    """The same numbers without the complex marker: one negated channel, no conjugate."""
    top = explain_pair(_view(spectrum), _view(spectrum.conj()), _ctx(False))[0]
    assert top.cause == "sign"
    assert top.params["part"] == "channel" and top.params["channel"] == 1
    assert "conjugate" not in top.detail


def test_stereo_pair_with_one_channel_negated_is_a_polarity_flip():
    """A real stereo signal ``(samples, 2)``: left the voice, right the voice 3 ms later."""
    voice = builders._voice()[0].numpy()
    stereo = np.stack([voice, np.roll(voice, 48)], axis=-1)
    port = stereo * np.array([1.0, -1.0], np.float32)
    findings = explain_pair(stereo, port, _ctx(False))
    top = findings[0]
    assert top.cause == "sign"
    assert top.params["part"] == "channel" and top.params["channel"] == 1
    assert top.confidence < 0.9  # weaker than a typed conjugate
    assert not any("conjugate" in f.detail for f in findings)


def test_a_rescaled_conjugate_is_named_with_its_gain(spectrum):
    """A conjugate and a normalisation bug at once: ``1.3 · conj(ref)``."""
    findings = explain_pair(_view(spectrum), _view(1.3 * spectrum.conj()), _ctx(True))
    top = findings[0]
    assert top.cause == "sign" and top.params["part"] == "imag"
    assert top.params["gain"] == pytest.approx(1.3, rel=1e-5)
    assert "×1.3" in top.detail and "gain ×1.3" in top.hint
    assert 0.85 < top.confidence < 0.95  # two relations at once: below a plain conjugate
    assert all(f.confidence < top.confidence for f in findings[1:])


@pytest.mark.parametrize("bug", ["phase rotation", "noisy conjugate"])
def test_relations_that_are_not_a_negated_half_do_not_fit(spectrum, bug):
    noise = torch.randn(spectrum.shape, generator=torch.Generator().manual_seed(3),
                        dtype=spectrum.dtype)
    port = {"phase rotation": spectrum * np.exp(0.4j),
            "noisy conjugate": spectrum.conj() + 0.2 * spectrum.abs().mean() * noise}[bug]
    findings = explain_pair(_view(spectrum), _view(port), _ctx(True), kinds=["sign"])
    assert [f.cause for f in findings] == ["unknown"]


def test_noise_on_a_near_zero_half_is_not_a_negation():
    """A spectrum whose imaginary part is tiny (1e-3) and a port adding 1e-2 noise to it:
    negating that half is close to the port only because the half is small; it explains
    none of the difference, so it is not a conjugate."""
    rng = np.random.default_rng(4)
    ref = np.stack([rng.standard_normal(4000), 1e-3 * rng.standard_normal(4000)], axis=-1)
    port = ref + np.stack([np.zeros(4000), 1e-2 * rng.standard_normal(4000)], axis=-1)
    for complex_pair in (True, False):
        findings = explain_pair(ref, port, _ctx(complex_pair), kinds=["sign"])
        assert [f.cause for f in findings] == ["unknown"]


def test_explain_command_reads_the_complex_marker(cli, tmp_path):
    """``audioparity explain`` on captured traces: the meta's ``complex`` list marks the
    spectrum, so the conjugate is named; the same views in .npz (no meta) are two channels."""
    ref = builders._trace(tmp_path / "ref.safetensors", None)
    port = builders._trace(tmp_path / "port.safetensors", "conjugate")
    code, out, _ = cli("explain", ref, port, "--ref-name", "frontend", "--json", "-")
    top = json.loads(out)["causes"][0]
    assert code == 1
    assert top["cause"] == "sign" and top["params"]["part"] == "imag"
    for side, trace in (("ref", ref), ("port", port)):
        np.savez(tmp_path / f"{side}.npz", frontend=np.array(open_trace(trace).read("frontend")))
    code, out, _ = cli("explain", tmp_path / "ref.npz", tmp_path / "port.npz", "--json", "-")
    assert json.loads(out)["causes"][0]["params"]["part"] == "channel"
