"""Small real inputs for every command whose JSON the contract tests read."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf
from safetensors.numpy import save_file

from audioparity.trace import write_trace


def layered_trace(path: Path, scaled_layer: int | None = None) -> Path:
    """``layers.i = tanh(W_i @ layers.{i-1})``; a port may scale one layer's output by 2."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 16)).astype(np.float32)
    tensors = {"embed": x}
    for i in range(4):
        x = np.tanh(x @ (rng.standard_normal((16, 16)) / 4).astype(np.float32))
        tensors[f"layers.{i}"] = 2 * x if i == scaled_layer else x
    return write_trace(path, tensors)


def checkpoint(path: Path, transposed: bool = False) -> Path:
    """A tiny Conv1d + Linear checkpoint; ``transposed`` stores the conv as [out, k, in]."""
    rng = np.random.default_rng(5)
    conv = rng.standard_normal((8, 4, 3)).astype(np.float32)
    tensors = {"conv.weight": conv.transpose(0, 2, 1).copy() if transposed else conv,
               "proj.weight": rng.standard_normal((8, 8)).astype(np.float32)}
    save_file(tensors, str(path))
    return path


def noise_wav(path: Path, sr: int = 16000) -> Path:
    sf.write(path, 0.2 * np.random.default_rng(0).standard_normal(sr), sr)
    return path


def speech_wav(path: Path) -> Path | None:
    """Real speech from espeak-ng, or None where it is not installed."""
    if shutil.which("espeak-ng") is None:
        return None
    text = "the quick brown fox jumps over the lazy dog"
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True, capture_output=True)
    return path
