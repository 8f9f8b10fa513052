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


def isolation_case(folder: Path) -> tuple[Path, Path]:
    """A torch ``Sequential`` (Linear, Tanh, Linear) captured with its inputs, and the
    outputs a NumPy port computed from those inputs with the last Linear's weight doubled
    (``isolate --outputs``): (reference trace, port outputs)."""
    import torch
    from safetensors.numpy import load_file

    from audioparity.sources.torch_capture import capture

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Tanh(),
                                torch.nn.Linear(8, 4)).eval()
    ref = folder / "isolate_ref.safetensors"
    with torch.no_grad(), capture(model, ref, inputs=True):
        model(torch.randn(3, 8))
    x = load_file(str(ref))
    w = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    outputs = {"0": x["0:in0"] @ w["0.weight"].T + w["0.bias"], "1": np.tanh(x["1:in0"]),
               "2": x["2:in0"] @ (2 * w["2.weight"]).T + w["2.bias"]}
    port = folder / "isolate_port_outputs.safetensors"
    save_file({k: np.ascontiguousarray(v, np.float32) for k, v in outputs.items()}, str(port))
    return ref, port


def conditioning_traces(folder: Path) -> list[Path]:
    """A torch model that adds an embedding of a condition to its input, traced under two
    conditions, and a port (same weights) that embeds zeros instead: ref A, ref B, port A,
    port B."""
    import torch

    from audioparity.sources.torch_capture import capture

    class Conditioned(torch.nn.Module):
        def __init__(self, ignores_condition: bool):
            super().__init__()
            self.embed, self.mix = torch.nn.Linear(4, 8), torch.nn.Linear(8, 8)
            self.ignores_condition = ignores_condition

        def forward(self, x, condition):
            if self.ignores_condition:
                condition = torch.zeros_like(condition)
            return self.mix(x + self.embed(condition))

    torch.manual_seed(1)
    ref, port = Conditioned(False), Conditioned(True)
    port.load_state_dict(ref.state_dict())
    x = torch.randn(2, 8)
    paths = []
    for side, model in (("ref", ref), ("port", port)):
        for k in (0, 1):
            condition = torch.randn(2, 4, generator=torch.Generator().manual_seed(10 + k))
            paths.append(folder / f"conditioning_{side}_{k}.safetensors")
            with torch.no_grad(), capture(model, paths[-1]):
                model(x, condition)
    return paths


DECODER = '''"""A NumPy token decoder: each frame, each codebook's id picks a partial of a tone."""
import numpy as np

SR, HOP = 16000, 160


def decode(tokens, gain=1.0):
    tokens = np.asarray(tokens)[0]  # [codebooks, frames]
    t = np.arange(HOP) / SR
    frames = [sum(np.sin(2 * np.pi * (200 + 20 * q + 5 * int(i)) * t) for q, i in
                  enumerate(tokens[:, f])) for f in range(tokens.shape[1])]
    return gain * 0.1 * np.concatenate(frames)[None].astype(np.float32), SR


def scaled(tokens):
    """The port: an extra 1/1024 (an ISTFT normalisation applied twice)."""
    return decode(tokens, 1 / 1024)
'''


def decoder_file(folder: Path) -> tuple[Path, Path]:
    """A NumPy decoder module (``decode``: the reference; ``scaled``: a port off by 1/1024)
    and reference tokens [1, 2, 40] for it: (module file, tokens .npy)."""
    module = folder / "tone_decoder.py"
    module.write_text(DECODER)
    tokens = folder / "decoder_tokens.npy"
    np.save(tokens, np.random.default_rng(2).integers(0, 16, size=(1, 2, 40)))
    return module, tokens
