"""Capture every intermediate tensor of a PyTorch model with forward hooks.

>>> with capture(model, "ref.safetensors", inputs=True) as rec:
...     model(input_ids)
>>> rec.names[:3]
['model.embed_tokens:in0', 'model.embed_tokens', ...]

Outputs are recorded when a module finishes (children before parents), inputs when it
starts. Tensors stream to disk as they are produced; hooks (and patched functions) are
removed on exit, also when the forward pass raises — in that case no file is written.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..trace import TraceWriter
from .naming import ROOT_NAME, NameFilter
from .recorder import Recorder


@dataclass
class TorchRecorder(Recorder):
    """Recorder for torch tensors; also tracks the module stack for patched functions."""

    _stack: list[str] = field(default_factory=list)

    def is_tensor(self, value: Any) -> bool:
        import torch

        return isinstance(value, torch.Tensor)

    def to_numpy(self, tensor: Any) -> tuple[np.ndarray, str | None]:
        import torch

        t = tensor.detach()
        if t.dtype == torch.bfloat16:  # NumPy has no bfloat16: widen exactly, store as bf16
            return t.float().cpu().numpy(), self.dtype or "bfloat16"
        if t.is_complex():
            return torch.view_as_real(t).cpu().numpy(), self.dtype
        if t.dtype in (torch.float8_e4m3fn, torch.float8_e5m2):
            return t.float().cpu().numpy(), self.dtype
        return t.cpu().numpy(), self.dtype

    def enter(self, path: str) -> str:
        self._stack.append(path)
        return super().enter(path)

    def leave(self) -> None:
        if self._stack:
            self._stack.pop()

    @property
    def current_module(self) -> str:
        return self._stack[-1] if self._stack else ""


def _resolve_function(dotted: str) -> tuple[Any, str]:
    module_name, _, attr = dotted.rpartition(".")
    owner = importlib.import_module(module_name)
    if not callable(getattr(owner, attr, None)):
        raise TypeError(f"{dotted} is not a function")
    return owner, attr


@contextlib.contextmanager
def capture(model: Any, path: str | Path | None = None, *, inputs: bool = False,
            steps: bool = False, include: Sequence[str] | str | None = None,
            exclude: Sequence[str] | str | None = None, functions: Sequence[str] = (),
            max_tensors: int | None = None, max_bytes: int | None = None,
            dtype: str | None = None, meta: dict[str, Any] | None = None) -> Iterator[TorchRecorder]:
    """Record every submodule's output (and optionally inputs) of ``model`` while in the block.

    Parameters
    ----------
    model : torch.nn.Module
    path : where to write the native trace (``.safetensors``); None keeps tensors in
        ``Recorder.tensors``.
    inputs : also record tensor inputs as ``NAME:in0``, ``NAME:in1`` … (positional first,
        then keyword arguments in call order).
    steps : every call of the root module opens a step: names get ``@0/``, ``@1/`` …
        (use for ``generate()`` loops). Without it, repeated calls give ``NAME#1`` ….
    include, exclude : globs or ``re:<regex>`` on module paths.
    functions : dotted paths of module-level functions to record too (patched while
        capturing), named ``<enclosing module>.<function>``; e.g.
        ``"transformers.models.qwen3.modeling_qwen3.apply_rotary_pos_emb"``.
    max_tensors, max_bytes : stop recording beyond these; ``meta["truncated"]`` says so.
    dtype : store float tensors as this dtype (``"float32"``, ``"bfloat16"`` …).
    """
    import torch

    writer = None
    if path is not None:
        writer = TraceWriter(path, {"source": "torch", "model": type(model).__name__,
                                    **(meta or {})})
    rec = TorchRecorder(writer, dtype, NameFilter(include, exclude), max_tensors, max_bytes)
    names = {m: (n or ROOT_NAME) for n, m in model.named_modules()}
    handles: list[Any] = []
    patched: list[tuple[Any, str, Any]] = []
    active_bases: dict[int, list[str]] = {}

    def pre_hook(module: torch.nn.Module, args: tuple, kwargs: dict) -> None:
        path_ = names[module]
        if module is model and steps:
            rec.next_step()
        base = rec.enter(path_)
        rec.module_types.setdefault(path_, type(module).__name__)
        active_bases.setdefault(id(module), []).append(base)
        if inputs:
            # keyword tensors continue the numbering after the positional ones
            rec.record(base, path_, tuple(args) + tuple(kwargs.values()), "in")

    def post_hook(module: torch.nn.Module, args: tuple, output: Any) -> None:
        stack = active_bases.get(id(module))
        base = stack.pop() if stack else names[module]
        rec.record(base, names[module], output, "out")
        rec.leave()

    def wrap(fn: Any, fname: str) -> Any:
        def recorded(*args: Any, **kwargs: Any) -> Any:
            parent = rec.current_module
            path_ = f"{parent}.{fname}" if parent and parent != ROOT_NAME else fname
            base = rec.enter(path_)
            try:
                if inputs:
                    rec.record(base, path_, args, "in")
                result = fn(*args, **kwargs)
                rec.record(base, path_, result, "out")
                return result
            finally:
                rec.leave()

        recorded.__wrapped__ = fn  # type: ignore[attr-defined]
        return recorded

    try:
        for module in names:
            handles.append(module.register_forward_pre_hook(pre_hook, with_kwargs=True))
            handles.append(module.register_forward_hook(post_hook))
        for dotted in functions:
            owner, attr = _resolve_function(dotted)
            original = getattr(owner, attr)
            patched.append((owner, attr, original))
            setattr(owner, attr, wrap(original, attr))
        yield rec
    except BaseException:
        rec.abort()
        raise
    else:
        rec.finish()
    finally:
        for h in handles:
            h.remove()
        for owner, attr, original in reversed(patched):
            setattr(owner, attr, original)
