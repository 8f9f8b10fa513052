"""Complex pairs (an STFT front end captured with the torch capture) get magnitude/phase
metrics and a one-line reading: a conjugated, a rescaled and a one-sample-shifted port each
named for what is wrong, the conjugate also by the cause catalogue (``sign``, imaginary part);
a correct port is parity with no reading; a pair without complex meta is measured as a real
tensor only (and its negated second half is one negated channel, not a conjugate)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from rich.console import Console

from audioparity.compare import compare_traces
from audioparity.compare.complex_metrics import complex_metrics
from audioparity.report.html import render_html
from audioparity.report.table import divergence_panel
from audioparity.sources.torch_capture import capture
from audioparity.trace import open_trace

SR = 16000
N_FFT, HOP = 256, 64


def _voice(seconds: float = 0.5) -> torch.Tensor:
    """A voiced-speech-like signal: a 140 Hz harmonic series with vibrato, formant-shaped,
    plus breath noise; ``(1, samples)`` float32."""
    t = torch.arange(int(SR * seconds), dtype=torch.float64) / SR
    f0 = 140 * (1 + 0.03 * torch.sin(2 * math.pi * 5 * t))
    phase = 2 * math.pi * torch.cumsum(f0, 0) / SR
    formants = (700, 1200, 2600)
    x = sum(sum(math.exp(-((h * 140 - f) / 150) ** 2) for f in formants) / h
            * torch.sin(h * phase) for h in range(1, 40))
    noise = 0.01 * torch.randn(t.shape, generator=torch.Generator().manual_seed(0),
                               dtype=torch.float64)
    return (x + noise).float()[None]


class Frontend(torch.nn.Module):
    """A vocoder's spectral front end: a complex onesided STFT, with a port's bug or not."""

    def __init__(self, bug: str | None = None):
        super().__init__()
        self.bug = bug
        self.register_buffer("window", torch.hann_window(N_FFT))

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        if self.bug == "shift":
            audio = torch.roll(audio, 1, -1)
        spec = torch.stft(audio, N_FFT, HOP, window=self.window, return_complex=True)
        if self.bug == "conjugate":
            spec = spec.conj().resolve_conj()
        elif self.bug == "scale":
            spec = 0.5 * spec
        return spec


class SpectralNet(torch.nn.Module):
    """Pre-emphasis (real), then the complex front end."""

    def __init__(self, bug: str | None = None):
        super().__init__()
        self.pre = torch.nn.Conv1d(1, 1, 2, bias=False)
        with torch.no_grad():
            self.pre.weight.copy_(torch.tensor([[[-0.2, 1.0]]]))
        self.frontend = Frontend(bug)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.frontend(self.pre(audio[:, None])[:, 0])


def _trace(path, bug: str | None):
    model = SpectralNet(bug).eval()
    with torch.no_grad(), capture(model, path):
        model(_voice())
    return path


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    d = tmp_path_factory.mktemp("complex")
    return {bug: _trace(d / f"{bug or 'ref'}.safetensors", bug)
            for bug in (None, "conjugate", "scale", "shift")}


def _real_view(z: np.ndarray) -> np.ndarray:
    return np.stack([z.real, z.imag], axis=-1)


def _entry(result, name: str) -> dict:
    return next(e for e in result.to_json()["entries"] if e["name"] == name)


def test_the_capture_lists_the_stft_as_complex(traces):
    trace = open_trace(traces[None])
    assert "frontend" in trace.meta["complex"]
    assert "pre" not in trace.meta["complex"]
    assert trace.info("frontend").shape[-1] == 2  # exact: the real/imag view


def test_conjugated_spectrum_is_named_a_phase_bug(traces):
    result = compare_traces(traces[None], traces["conjugate"])
    assert result.status == "divergent"
    assert result.first_divergence.name == "frontend"
    c = _entry(result, "frontend")["complex"]
    assert c["magnitude_rel_l2"] < 1e-6
    assert c["phase_mean_rad"] > 0.3
    assert c["conjugate_rel_l2"] < 1e-6
    assert "magnitude matches" in c["reading"] and "conjugate" in c["reading"]
    assert "pre" in {e.name for e in result.entries if e.ok}
    assert "complex" not in _entry(result, "pre")  # a real pair


def test_conjugated_spectrum_causes_start_with_sign_on_the_imaginary_part(traces):
    causes = compare_traces(traces[None], traces["conjugate"]).first_divergence.causes
    assert causes[0].cause == "sign" and causes[0].params["part"] == "imag"
    assert "complex conjugate" in causes[0].detail
    assert all(f.confidence < causes[0].confidence for f in causes[1:])


def test_rescaled_spectrum_is_named_a_magnitude_bug(traces):
    result = compare_traces(traces[None], traces["scale"])
    c = _entry(result, "frontend")["complex"]
    assert c["magnitude_scale"] == pytest.approx(0.5, rel=1e-4)
    assert c["phase_mean_rad"] < 1e-4
    assert c["phase_share"] < 0.01
    assert c["reading"].startswith("phase matches") and "×0.5" in c["reading"]


def test_one_sample_shift_is_a_linear_phase_ramp(traces):
    result = compare_traces(traces[None], traces["shift"])
    c = _entry(result, "frontend")["complex"]
    assert c["magnitude_rel_l2"] < 0.1  # the window sees nearly the same frame
    assert c["phase_share"] > 0.9
    ramp = c["ramp"]
    assert ramp["axis"] == 1  # (batch, frequency, frames): the frequency axis
    assert ramp["shift_samples"] == pytest.approx(1.0, abs=0.1)
    assert "time shift" in c["reading"]


def test_correct_port_is_parity_without_a_reading(traces):
    result = compare_traces(traces[None], _trace(traces[None].with_name("ok.safetensors"), None))
    assert result.status == "parity"
    c = _entry(result, "frontend")["complex"]
    assert c["reading"] is None
    assert c["magnitude_rel_l2"] < 1e-6 and c["phase_mean_rad"] < 1e-6


def test_reading_reaches_the_panel_and_the_html(traces):
    result = compare_traces(traces[None], traces["conjugate"])
    console = Console(width=200, record=True)
    console.print(divergence_panel(result))
    panel = console.export_text()
    assert "complex" in panel and "conjugate" in panel
    html = render_html(result, read_traces=False)
    assert 'id="s0-complex-reading"' in html and "conjugation bug" in html
    assert html.count("conjugation bug") >= 2  # the facts and the pair row's tooltip
    json.dumps(result.to_json())  # the ramp and reading are plain JSON


def test_pair_without_complex_meta_gets_no_complex_field(traces, tmp_path):
    """The same real/imag views written to .npz (no meta): measured as real tensors only."""
    ref, port = open_trace(traces[None]), open_trace(traces["conjugate"])
    np.savez(tmp_path / "ref.npz", frontend=np.array(ref.read("frontend")))
    np.savez(tmp_path / "port.npz", frontend=np.array(port.read("frontend")))
    result = compare_traces(tmp_path / "ref.npz", tmp_path / "port.npz")
    assert result.status == "divergent"
    assert "complex" not in _entry(result, "frontend")
    top = result.first_divergence.causes[0]  # two channels, one negated: not a conjugate
    assert top.cause == "sign" and top.params["part"] == "channel"
    assert "conjugate" not in top.detail


def test_complex_meta_on_the_port_side_is_enough(traces, tmp_path):
    """A reference dumped as plain real views (.npz, no meta) against a captured port."""
    ref = open_trace(traces[None])
    np.savez(tmp_path / "ref.npz", frontend=np.array(ref.read("frontend")))
    result = compare_traces(tmp_path / "ref.npz", traces["scale"])
    assert "×0.5" in _entry(result, "frontend")["complex"]["reading"]


def test_a_complex_dtype_in_the_file_counts_as_complex(tmp_path):
    """An STFT dumped as complex64 in .npz is read as its real view and measured as complex."""
    spec = torch.stft(_voice(0.1), N_FFT, HOP, window=torch.hann_window(N_FFT),
                      return_complex=True).numpy()
    np.savez(tmp_path / "ref.npz", spec=spec)
    np.savez(tmp_path / "port.npz", spec=np.conj(spec))
    result = compare_traces(tmp_path / "ref.npz", tmp_path / "port.npz")
    assert "conjugate" in _entry(result, "spec")["complex"]["reading"]
    assert result.first_divergence.causes[0].params["part"] == "imag"


def test_metrics_are_chunk_independent():
    rng = np.random.default_rng(1)
    ref = rng.standard_normal((3, 33, 40, 2)).astype(np.float32)
    port = ref * np.float32(0.9) + rng.standard_normal(ref.shape).astype(np.float32) * 0.05
    whole, chunked = complex_metrics(ref, port, chunk=1 << 20), complex_metrics(ref, port, 97)
    assert chunked.magnitude_rel_l2 == pytest.approx(whole.magnitude_rel_l2, rel=1e-9)
    assert chunked.phase_mean_rad == pytest.approx(whole.phase_mean_rad, rel=1e-9)
    assert chunked.phase_off_energy == pytest.approx(whole.phase_off_energy, rel=1e-9)


def test_gain_and_phase_rotation_together_are_both():
    """A port off by ×0.7 and a constant 0.5 rad rotation: neither half carries 90 %."""
    rng = np.random.default_rng(2)
    z = rng.standard_normal((2, 65, 30)) + 1j * rng.standard_normal((2, 65, 30))
    m = complex_metrics(_real_view(z), _real_view(0.7 * np.exp(0.5j) * z))
    assert m.magnitude_scale == pytest.approx(0.7, rel=1e-9)
    assert m.phase_mean_rad == pytest.approx(0.5, rel=1e-9)
    assert 0.1 < m.phase_share < 0.9
    assert m.ramp is None  # a constant rotation is no ramp
    assert m.reading().startswith("both differ")
