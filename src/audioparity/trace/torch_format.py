"""Torch ``.pt/.pth/.bin`` state dicts, loaded with ``weights_only=True`` (never arbitrary pickles)."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .base import DAMAGED, TensorInfo, Trace

_TORCH_TO_NAME = {"torch.bfloat16": "bfloat16"}
_COMPLEX_REAL = {"complex64": "float32", "complex128": "float64"}
_WIDENED = ("bfloat16", "float8_e4m3fn", "float8_e5m2")


def _flatten(obj: Any, prefix: str, out: dict[str, Any]) -> None:
    import torch

    if isinstance(obj, torch.Tensor):
        out[prefix] = obj
    elif isinstance(obj, dict):
        for key, value in obj.items():
            _flatten(value, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            _flatten(value, f"{prefix}.{i}" if prefix else str(i), out)


class TorchTrace(Trace):
    """A torch-saved dict of tensors (nested dicts/lists flattened with ``.``)."""

    def __init__(self, path: str | Path):
        super().__init__(Path(path))
        try:
            import torch
        except ImportError:
            raise InputError(self.path, "reading torch files needs torch: "
                                        "pip install 'audioparity[torch]'") from None
        obj = _load(self.path)
        if isinstance(obj, torch.Tensor):
            obj = {self.path.stem: obj}
        if not isinstance(obj, dict):
            raise InputError(self.path, f"holds a {type(obj).__name__}, not a dict of tensors")
        tensors: dict[str, Any] = {}
        _flatten(obj, "", tensors)
        if not tensors and obj:
            raise InputError(self.path, "holds no tensors")
        self._tensors = tensors
        infos = {}
        for name, t in tensors.items():
            dtype = _TORCH_TO_NAME.get(str(t.dtype), str(t.dtype).removeprefix("torch."))
            if dtype in _COMPLEX_REAL:  # exposed as torch.view_as_real, like the capture
                infos[name] = TensorInfo(name, (*t.shape, 2), _COMPLEX_REAL[dtype],
                                         from_complex=dtype)
                continue
            if dtype not in np.sctypeDict and dtype not in _WIDENED:
                raise InputError(self.path, f"tensor '{name}' has unsupported dtype {t.dtype}")
            infos[name] = TensorInfo(name, tuple(t.shape), dtype)
        self._infos = infos

    def _read(self, name: str) -> np.ndarray:
        import torch

        t = self._tensors[name].detach()
        if t.is_complex():
            t = torch.view_as_real(t.resolve_conj())
        if t.dtype in (torch.bfloat16, torch.float8_e4m3fn, torch.float8_e5m2):
            t = t.float()
        return t.numpy()


def _load(path: Path) -> Any:
    import torch

    try:
        # the weights_only unpickler warns on stderr about pickle protocols; the refusal
        # below is the one line the user gets
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            if path.suffix.lower() == ".safetensors":
                # torch.load hands a path named .safetensors to safetensors whatever it holds
                with open(path, "rb") as fh:
                    return torch.load(fh, map_location="cpu", weights_only=True)
            try:
                return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            except RuntimeError as exc:
                if "mmap" not in str(exc):
                    raise
                return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise InputError(path, "refusing to unpickle: not a plain tensor dict "
                               f"({_unpickler_reason(str(exc))[:160]})") from None
    except DAMAGED as exc:  # torch raises many types on damaged archives: all bad input
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(path, f"not a readable torch file ({msg[:160]})") from None


def _unpickler_reason(message: str) -> str:
    """The line of torch's weights_only refusal that names what was refused."""
    _, _, after = message.partition("WeightsUnpickler error:")
    lines = [line.strip() for line in (after or message).splitlines() if line.strip()]
    return lines[0] if lines else "unsafe pickle"
