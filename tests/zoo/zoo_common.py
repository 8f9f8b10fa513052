"""Shared pieces of the zoo: random weights away from init, traces of references, NumPy ops."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def randomize_(module, seed: int = 0, scale: float = 0.1) -> None:
    """Give every parameter of a torch module values away from its init, in place.

    Norm weights (names containing ``norm`` and ending in ``weight``, or 1-D ``gamma``) become
    ``1 + scale * randn``; everything else ``scale * randn``. A missing norm or an unloaded
    layer stays invisible with init values (ones, zeros), so the zoo never uses them.
    """
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float32).to(p.dtype)
            is_norm = ("norm" in name.lower() and name.endswith("weight")) or name.endswith(
                ("gamma", "scale"))
            p.copy_(1 + scale * noise if is_norm else scale * noise)


def state_numpy(module) -> dict[str, np.ndarray]:
    """A torch module's state dict as float32/int NumPy arrays (what a port loads)."""
    return {k: v.detach().float().numpy() if v.is_floating_point() else v.numpy()
            for k, v in module.state_dict().items()}


def torch_trace(model, path: Path, call, **capture_kwargs) -> Path:
    """Run ``call()`` under the torch capture of ``model`` and write the reference trace."""
    import torch

    from audioparity.sources.torch_capture import capture

    with torch.no_grad(), capture(model, path, **capture_kwargs):
        call()
    return path


def rms_norm(x: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
    """RMSNorm over the last axis (float32)."""
    var = np.mean(np.square(x, dtype=np.float32), axis=-1, keepdims=True)
    return (x / np.sqrt(var + eps)).astype(np.float32) * weight


def silu(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-x))


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def import_soprano_vocos():
    """Import ``soprano.vocos`` (the torch Soprano decoder) without ``soprano/__init__.py``.

    The package's ``__init__`` pulls the TTS front-end and the hub; the decoder subpackage is
    self-contained, so an empty package module pointing at the installed folder suffices.
    """
    import importlib
    import importlib.util
    import sys
    import types

    if "soprano" not in sys.modules or not hasattr(sys.modules["soprano"], "__path__"):
        spec = importlib.util.find_spec("soprano")
        pkg = types.ModuleType("soprano")
        pkg.__path__ = list(spec.submodule_search_locations)
        pkg.__spec__ = spec
        sys.modules["soprano"] = pkg
    return importlib.import_module("soprano.vocos")


def write_numpy_trace(path: Path, tensors: dict[str, np.ndarray], model: str) -> Path:
    """Write a port's dump (name -> array, in execution order) as a native trace."""
    from audioparity.trace import TraceWriter

    with TraceWriter(path, {"source": "numpy", "model": model}) as writer:
        for name, arr in tensors.items():
            writer.add(name, arr)
    return path
