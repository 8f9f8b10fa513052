"""Inputs shared by the contract tests, made once per session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from contract_inputs import checkpoint, layered_trace, noise_wav, speech_wav


@dataclass(frozen=True)
class Inputs:
    folder: Path
    ref_trace: Path
    port_trace: Path
    ref_ckpt: Path
    port_ckpt: Path
    noise: Path
    speech: Path | None
    mel: Path
    tokens: Path


@pytest.fixture(scope="session")
def inputs(tmp_path_factory) -> Inputs:
    d = tmp_path_factory.mktemp("contract")
    rng = np.random.default_rng(1)
    np.save(d / "mel.npy", rng.standard_normal((80, 200)).astype(np.float32))
    np.save(d / "tokens.npy", rng.integers(0, 256, size=(4, 150)))
    return Inputs(d, layered_trace(d / "ref.safetensors"),
                  layered_trace(d / "port.safetensors", scaled_layer=2),
                  checkpoint(d / "ref_ckpt.safetensors"),
                  checkpoint(d / "port_ckpt.safetensors", transposed=True),
                  noise_wav(d / "noise.wav"), speech_wav(d / "speech.wav"), d / "mel.npy",
                  d / "tokens.npy")
