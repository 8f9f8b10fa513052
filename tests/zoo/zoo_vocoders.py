"""Seed 000/002: Vocos-style vocoders. References are the torch Soprano decoder and a torch
Vocos (``soprano.vocos`` backbone + ISTFT head, the same classes as the ``vocos`` package,
whose own import needs torchaudio); ports are mlx-audio's MLX models (third-party, loaded
with mlx-audio's converters) and a NumPy ISTFT head.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from zoo_common import (
    import_soprano_vocos,
    randomize_,
    torch_trace,
    write_numpy_trace,
)

N_FFT, HOP = 2048, 512
SOPRANO = {"num_input_channels": 16, "decoder_num_layers": 2, "decoder_dim": 32,
           "hop_length": HOP, "n_fft": N_FFT, "upscale": 4, "dw_kernel": 3}


def _features(channels: int, frames: int, seed: int = 1):
    import torch

    return torch.randn(1, channels, frames, generator=torch.Generator().manual_seed(seed))


# --- Soprano decoder: torch (soprano-tts) vs MLX (mlx-audio) ---------------------------------

def soprano_reference():
    import torch

    import_soprano_vocos()
    from soprano.vocos.decoder import SopranoDecoder

    torch.manual_seed(0)
    model = SopranoDecoder(**SOPRANO).eval()
    randomize_(model, seed=0)
    return model


def soprano_mlx_port(ref):
    """mlx-audio's SopranoDecoder with the reference's weights: Conv1d ``moveaxis(1, 2)`` to
    MLX ``[out, k, in]``, then mlx-audio's own ``Model.sanitize``, loaded strictly."""
    import mlx.core as mx
    from mlx_audio.tts.models.soprano.decoder import SopranoDecoder
    from mlx_audio.tts.models.soprano.soprano import Model

    port = SopranoDecoder(**SOPRANO)
    weights = {}
    for key, value in ref.state_dict().items():
        arr = mx.array(value.numpy())
        weights["decoder." + key] = arr.moveaxis(1, 2) if value.ndim == 3 else arr
    weights = Model.sanitize(None, weights)  # the converter mlx-audio applies to checkpoints
    weights = {k.removeprefix("decoder."): v for k, v in weights.items()
               if not k.endswith("istft.window")}  # MLX builds its window itself
    port.load_weights(list(weights.items()), strict=True)
    return port


def fix_mlx_istft_head(port) -> None:
    """What audioparity's finding at ``head`` leads to: mlx-audio's ISTFT head divides the
    overlap-add by Σw (``istft(normalized=False)``) where torch divides by Σw² (× 0.75 for a
    Hann window at hop n_fft/4), uses a symmetric Hann window where torch's is periodic, and
    keeps the DC and Nyquist bins that torch's "center" ISTFT zeroes. Patch all three."""
    import mlx.core as mx
    from mlx_audio.dsp import istft

    head = port.head
    window = mx.array(np.hanning(head.n_fft + 1)[:-1].astype(np.float32))  # periodic
    keep = np.ones((head.n_fft // 2 + 1, 1), np.float32)
    keep[[0, -1]] = 0.0

    class FixedISTFTHead(type(head)):
        def __call__(self, x):
            spec = self.out(x).swapaxes(1, 2)
            mag, phase = spec.split(2, axis=1)
            mag = mx.clip(mx.exp(mag), None, 1e2)
            stft = (mag * (mx.cos(phase) + 1j * mx.sin(phase))).squeeze(0) * mx.array(keep)
            audio = istft(stft, window=window, hop_length=self.hop_length,
                          win_length=self.n_fft, normalized=True)
            return audio[None, :]

    head.__class__ = FixedISTFTHead


def build_soprano(workdir: Path, *, fix_head: bool = False, bf16: bool = False
                  ) -> tuple[Path, Path]:
    import mlx.core as mx

    from audioparity.sources.mlx_capture import capture

    ref = soprano_reference()
    x = _features(SOPRANO["num_input_channels"], 6)
    ref_path = torch_trace(ref, workdir / "ref.safetensors", lambda: ref(x))
    port = soprano_mlx_port(ref)
    if fix_head:
        fix_mlx_istft_head(port)
    features = mx.array(x.numpy().transpose(0, 2, 1))  # mlx-audio takes [B, L, C]
    if bf16:  # seed 001: the port computes in bf16, the reference in f32
        port.set_dtype(mx.bfloat16)
        features = features.astype(mx.bfloat16)
    port_path = workdir / "port.safetensors"
    with capture(port, port_path, inputs=True):  # plain flow: compare reads channels-last
        port(features)
    return ref_path, port_path


# --- Vocos: torch backbone + head vs mlx-audio Vocos.from_pretrained --------------------------

VOCOS_CONFIG = {
    "feature_extractor": {"class_path": "vocos.feature_extractors.MelSpectrogramFeatures",
                          "init_args": {"sample_rate": 24000, "n_fft": 1024, "hop_length": 256,
                                        "n_mels": 24, "padding": "center"}},
    "backbone": {"class_path": "vocos.models.VocosBackbone",
                 "init_args": {"input_channels": 24, "dim": 32, "intermediate_dim": 64,
                               "num_layers": 2}},
    "head": {"class_path": "vocos.heads.ISTFTHead",
             "init_args": {"dim": 32, "n_fft": 1024, "hop_length": 256, "padding": "center"}},
}


def vocos_reference():
    """A torch Vocos (mel variant): ``backbone`` + ``head`` with the vocos package's layout."""
    import torch

    import_soprano_vocos()
    from soprano.vocos.heads import ISTFTHead
    from soprano.vocos.models import VocosBackbone

    class Vocos(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            bb, hd = VOCOS_CONFIG["backbone"]["init_args"], VOCOS_CONFIG["head"]["init_args"]
            self.backbone = VocosBackbone(**bb, input_kernel_size=7, dw_kernel_size=7)
            self.head = ISTFTHead(**hd)

        def forward(self, features: torch.Tensor) -> torch.Tensor:
            return self.head(self.backbone(features))  # both in [B, C, T]

    torch.manual_seed(0)
    model = Vocos().eval()
    randomize_(model, seed=2)
    return model


def vocos_mlx_port(ref, folder: Path, rename: tuple[str, str] | None = None):
    """Save the torch state dict + config.yaml and load it with mlx-audio's
    ``Vocos.from_pretrained`` (which converts the conv weights itself). ``rename`` changes a
    key prefix first: the seed 002 prefix mismatch, silently skipped by ``strict=False``."""
    from mlx_audio.codec.models.vocos import Vocos
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in ref.state_dict().items()}
    if rename:
        state = {(rename[1] + k.removeprefix(rename[0]) if k.startswith(rename[0]) else k): v
                 for k, v in state.items()}
    save_file(state, str(folder / "model.safetensors"))
    (folder / "config.yaml").write_text(yaml.safe_dump(VOCOS_CONFIG))
    return Vocos.from_pretrained(str(folder))


def build_vocos(workdir: Path, *, rename: tuple[str, str] | None = None,
                mel_affine: tuple[float, float] | None = None) -> tuple[Path, Path]:
    import mlx.core as mx

    from audioparity.sources.mlx_capture import capture

    ref = vocos_reference()
    mel = _features(24, 10, seed=3)
    # inputs only where the bug sits at one: MLX's head input is [B, T, C], torch's [B, C, T]
    inputs = mel_affine is not None
    ref_path = torch_trace(ref, workdir / "ref.safetensors", lambda: ref(mel), inputs=inputs)
    port = vocos_mlx_port(ref, workdir / "mlx-vocos", rename)
    port_mel = mx.array(mel.numpy())
    if mel_affine:  # seed 002: a transform that exists only in the port
        port_mel = port_mel * mel_affine[0] + mel_affine[1]
    port_path = workdir / "port.safetensors"
    # the plain flow: soprano's torch backbone returns [B, C, T], mlx-audio's [B, T, C], and
    # compare reads the port's channels-last convention itself
    with capture(port, port_path, inputs=inputs):
        port.decode(port_mel)
    return ref_path, port_path


# --- ISTFT head: torch (soprano.vocos, "same" padding) vs NumPy ------------------------------

def istft_reference():
    import torch

    import_soprano_vocos()
    from soprano.vocos.heads import ISTFTHead

    torch.manual_seed(0)
    head = ISTFTHead(dim=32, n_fft=N_FFT, hop_length=HOP, padding="same").eval()
    randomize_(head, seed=4, scale=0.05)
    return head


def numpy_istft_head(weights: dict[str, np.ndarray], x: np.ndarray, *, divide_by_nfft=False,
                     pad: int | None = None, peak: float | None = None) -> dict[str, np.ndarray]:
    """The ISTFT head in NumPy ("same" padding); returns its trace.

    Bugs (seed 000): ``divide_by_nfft`` (an extra 1/n_fft), ``pad`` (samples trimmed at the
    start; correct is (win - hop) / 2 = 768, the port used win / 2 = 1024), ``peak``
    (soprano-rs ``normalize_audio``: scale to this peak, then tanh on values above 0.8).
    """
    out = x @ weights["out.weight"].T + weights["out.bias"]  # x [B, L, dim] -> [B, L, n_fft + 2]
    spec = out.transpose(0, 2, 1)
    mag = np.minimum(np.exp(spec[:, : N_FFT // 2 + 1]), 1e2)
    phase = spec[:, N_FFT // 2 + 1:]
    frames = np.fft.irfft(mag * np.exp(1j * phase), N_FFT, axis=1)  # [B, n_fft, L]
    window = weights["istft.window"]
    frames = frames * window[None, :, None]
    if divide_by_nfft:
        frames = frames / N_FFT
    n_frames = frames.shape[2]
    size = (n_frames - 1) * HOP + N_FFT
    y, env = np.zeros((x.shape[0], size)), np.zeros(size)
    for t in range(n_frames):
        y[:, t * HOP: t * HOP + N_FFT] += frames[:, :, t]
        env[t * HOP: t * HOP + N_FFT] += window**2
    correct = (N_FFT - HOP) // 2
    start = correct if pad is None else pad
    length = size - 2 * correct
    audio = (y / np.where(env > 1e-11, env, 1.0))[:, start: start + length]
    trace = {"out": out, "istft": audio, "output": audio}
    if peak is not None:
        scaled = audio * (peak / np.abs(audio).max())
        trace["output"] = np.where(np.abs(scaled) > 0.8, np.tanh(scaled), scaled)
    return {k: np.asarray(v, np.float32) for k, v in trace.items()}


def build_istft(workdir: Path, **bug) -> tuple[Path, Path]:
    import torch
    from zoo_common import state_numpy

    head = istft_reference()
    x = torch.randn(1, 32, 12, generator=torch.Generator().manual_seed(5))
    ref_path = torch_trace(head, workdir / "ref.safetensors", lambda: head(x))
    trace = numpy_istft_head(state_numpy(head), x.numpy().transpose(0, 2, 1), **bug)
    return ref_path, write_numpy_trace(workdir / "port.safetensors", trace, "istft-port")
