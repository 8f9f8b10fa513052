"""Seed 003: an RVQ codec's token hand-over. The reference is transformers ``DacModel`` (tiny
random config) decoding codes it produced itself from espeak-ng speech; the port is a NumPy
``from_codes`` (per codebook: embedding lookup -> 1x1 ``out_proj`` -> sum).

Bugs live where seed 003 found them, between the talker and the codec:
``flat_vocab`` (the talker's flat vocabulary ``token + cb * codebook_size`` reaches the codec
unchanged; like ggml's ``get_rows`` the port's gather does not bounds-check, it clamps) and
``order`` (the codebooks arrive in another order).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf
from zoo_common import randomize_, state_numpy, torch_trace, write_numpy_trace

CODEBOOK_SIZE, N_Q, SAMPLES = 64, 4, 2048


def _speech(workdir: Path) -> np.ndarray:
    wav = workdir / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(wav), "the codec hears this sentence"], check=True,
                   capture_output=True)
    audio, _ = sf.read(wav, dtype="float32")
    start = int(np.argmax(np.abs(audio) > 0.05))  # skip the leading silence
    return audio[start:start + SAMPLES]


def build_reference(workdir: Path):
    """A random tiny DacModel, its RVQ decoder as a module, and real codes [1, N_Q, T]."""
    import torch
    from transformers import DacConfig, DacModel

    cfg = DacConfig(encoder_hidden_size=8, downsampling_ratios=[2, 4], decoder_hidden_size=32,
                    n_codebooks=N_Q, codebook_size=CODEBOOK_SIZE, codebook_dim=8,
                    hidden_size=32)
    torch.manual_seed(0)
    model = DacModel(cfg).eval()
    randomize_(model, seed=9, scale=0.3)

    class RVQDecode(torch.nn.Module):
        """``DacResidualVectorQuantizer.from_codes`` as a forward, so the capture sees it."""

        def __init__(self) -> None:
            super().__init__()
            self.quantizer = model.quantizer

        def forward(self, codes: torch.Tensor) -> torch.Tensor:
            return self.quantizer.from_codes(codes)[0]

    audio = torch.from_numpy(_speech(workdir)).reshape(1, 1, -1)
    with torch.no_grad():
        codes = model.encode(audio).audio_codes
    return RVQDecode().eval(), codes


def numpy_from_codes(weights: dict[str, np.ndarray], codes: np.ndarray, *,
                     flat_vocab: bool = False,
                     order: tuple[int, ...] | None = None) -> dict[str, np.ndarray]:
    """The port's dump of ``from_codes`` on the codes it was handed."""
    if order is not None:
        codes = codes[:, list(order)]
    if flat_vocab:
        codes = codes + np.arange(N_Q).reshape(1, -1, 1) * CODEBOOK_SIZE
    dump: dict[str, np.ndarray] = {"output:in0": codes}
    total = 0.0
    for i in range(N_Q):
        name = f"quantizer.quantizers.{i}"
        table = weights[f"{name}.codebook.weight"]
        latent = np.take(table, codes[:, i], axis=0, mode="clip")  # [B, T, D]
        w, b = weights[f"{name}.out_proj.weight"][:, :, 0], weights[f"{name}.out_proj.bias"]
        projected = np.einsum("od,btd->bot", w, latent) + b[None, :, None]
        dump |= {f"{name}.codebook:in0": codes[:, i], f"{name}.codebook": latent,
                 f"{name}.out_proj": projected.astype(np.float32)}
        total = total + projected
    dump["output"] = np.asarray(total, dtype=np.float32)
    return dump


def build(workdir: Path, **bug) -> tuple[Path, Path]:
    model, codes = build_reference(workdir)
    ref = torch_trace(model, workdir / "ref.safetensors", lambda: model(codes), inputs=True)
    trace = numpy_from_codes(state_numpy(model), codes.numpy(), **bug)
    return ref, write_numpy_trace(workdir / "port.safetensors", trace, "dac-rvq-port")
