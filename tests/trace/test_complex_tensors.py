"""Complex tensors are read as their real [..., 2] view, the form the torch capture stores."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file

from audioparity.compare import compare_traces
from audioparity.sources.torch_capture import capture
from audioparity.trace import open_trace

N_FFT, HOP = 64, 16


class Spectrogram(torch.nn.Module):
    """A Vocos-style STFT front end: the complex spectrum is the module's output."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        window = torch.hann_window(N_FFT)
        return torch.stft(x, N_FFT, HOP, window=window, center=True, return_complex=True)


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.spec = Spectrogram()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.spec(x).abs()


def numpy_stft(x: np.ndarray) -> np.ndarray:
    """The port's STFT: reflect-padded, periodic Hann, one-sided — complex64 [F, T]."""
    padded = np.pad(x, N_FFT // 2, mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)
    frames = np.stack([padded[i:i + N_FFT] * window
                       for i in range(0, len(padded) - N_FFT + 1, HOP)], axis=1)
    return np.fft.rfft(frames, axis=0).astype(np.complex64)


@pytest.fixture
def signal():
    t = np.arange(1024) / 16000
    return (np.sin(2 * np.pi * 440 * t) + 0.3 * np.sin(2 * np.pi * 3000 * t)).astype(np.float32)


def _port_dir(tmp_path, spec):
    port = tmp_path / "port"
    port.mkdir()
    np.save(port / "spec.npy", spec)
    np.save(port / "output.npy", np.abs(spec))
    (port / "order.txt").write_text("spec\noutput\n")
    return port


def test_complex64_stft_dump_meets_the_torch_capture(tmp_path, signal):
    ref = tmp_path / "ref.safetensors"
    model = Model()
    with capture(model, ref):
        model(torch.from_numpy(signal))
    port = _port_dir(tmp_path, numpy_stft(signal))
    with open_trace(port) as trace:
        info = trace.info("spec")
        assert info.from_complex == "complex64" and info.dtype == "float32"
        assert info.shape == (N_FFT // 2 + 1, 1024 // HOP + 1, 2)
    result = compare_traces(ref, port)
    assert result.status == "parity", [(e.name, e.max_abs) for e in result.entries]
    assert "spec" in [e.name for e in result.entries]


def test_a_wrong_stft_sign_is_divergent(tmp_path, signal):
    ref = tmp_path / "ref.safetensors"
    model = Model()
    with capture(model, ref):
        model(torch.from_numpy(signal))
    port = _port_dir(tmp_path, np.conj(numpy_stft(signal)))  # a port with e^{+i} kernels
    result = compare_traces(ref, port, explain=False)
    assert result.first_divergence is not None and result.first_divergence.name == "spec"


def test_complex_in_npz_safetensors_and_pt(tmp_path):
    z = (np.arange(6) + 1j * np.arange(6, 12)).reshape(2, 3)
    expected = np.stack([z.real, z.imag], axis=-1)
    np.savez(tmp_path / "c.npz", z64=z.astype(np.complex64), z128=z.astype(np.complex128))
    save_file({"z64": z.astype(np.complex64)}, tmp_path / "c.safetensors")
    torch.save({"z64": torch.from_numpy(z.astype(np.complex64))}, tmp_path / "c.pt")
    for name in ("c.npz", "c.safetensors", "c.pt"):
        with open_trace(tmp_path / name) as trace:
            for key in trace.names:
                info = trace.info(key)
                assert info.shape == (2, 3, 2) and info.from_complex == key.replace("z", "complex")
                arr = trace.read(key)
                assert arr.dtype == np.dtype(info.dtype)
                assert np.allclose(arr, expected), name
