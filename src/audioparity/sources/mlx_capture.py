"""Capture every intermediate array of an MLX model (``mlx.nn.Module``), under SPEC names.

MLX has no forward hooks, and Python looks ``__call__`` up on the type, so while capturing
each module instance of the model gets a dynamically created subclass of its own class whose
``__call__`` records and then defers to the original. The original classes are restored on
exit, also when the forward pass raises (then no file is written).

>>> with capture(mlx_model, "port.safetensors", inputs=True) as rec:
...     mlx_model(x)
>>> rec.names[:2]
['embed:in0', 'embed']

Names are those of the torch capture (``mlx.nn.Module.named_modules()`` gives the same dotted
paths; the root's output is ``output``). Arrays are stored as MLX produced them: an MLX conv
output stays ``[B, T, C]`` (NLC) where PyTorch has ``[B, C, T]``; telling the two apart is the
explainer's job (``layout``), never the trace's. Complex arrays are stored as a trailing
``(real, imag)`` axis, like the torch capture does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..trace import TraceWriter
from .naming import ROOT_NAME, NameFilter, input_name, output_name, repeat_name, step_prefix


@dataclass
class MLXRecorder:
    """Collects arrays from the patched ``__call__``; writes a trace or keeps them in memory."""

    writer: TraceWriter | None
    dtype: str | None
    filter: NameFilter
    max_tensors: int | None
    max_bytes: int | None
    names: list[str] = field(default_factory=list)
    tensors: dict[str, np.ndarray] = field(default_factory=dict)
    module_types: dict[str, str] = field(default_factory=dict)
    truncated: bool = False
    bytes_recorded: int = 0
    step: int | None = None
    _repeats: dict[str, int] = field(default_factory=dict)

    def next_step(self) -> None:
        """Open the next generation step: later names get the ``@k/`` prefix."""
        self.step = 0 if self.step is None else self.step + 1
        self._repeats.clear()

    def enter(self, path: str) -> str:
        """A module starts: return its (step-prefixed, repeat-suffixed) base name."""
        key = step_prefix(self.step) + path
        repeat = self._repeats.get(key, 0)
        self._repeats[key] = repeat + 1
        return repeat_name(key, repeat)

    def record(self, base: str, path: str, value: Any, kind: str) -> None:
        """Store an array, or each array element of a tuple/list/dict, under SPEC names."""
        if not self.filter(path):
            return
        for index, array in _arrays_of(value):
            name = output_name(base, index) if kind == "out" else input_name(base, index)
            self._store(name, array)

    def _store(self, name: str, array: Any) -> None:
        if self.truncated or name in self.tensors or (self.writer and name in self.writer):
            return
        arr, store_as = _to_numpy(array, self.dtype)
        nbytes = arr.size * (2 if store_as in ("bfloat16", "float16") else arr.dtype.itemsize)
        if (self.max_tensors is not None and len(self.names) >= self.max_tensors) or (
                self.max_bytes is not None and self.bytes_recorded + nbytes > self.max_bytes):
            self.truncated = True
            return
        if self.writer is not None:
            self.writer.add(name, arr, dtype=store_as)
        else:
            keep = store_as if store_as not in (None, "bfloat16") else arr.dtype
            self.tensors[name] = arr.astype(keep, copy=False)
        self.names.append(name)
        self.bytes_recorded += nbytes


def _arrays_of(value: Any) -> Iterator[tuple[int, Any]]:
    """(index, array) for an ``mx.array``, or each array element of a tuple/list/dict."""
    import mlx.core as mx

    if isinstance(value, mx.array):
        yield 0, value
        return
    if isinstance(value, dict):
        value = tuple(value.values())
    if isinstance(value, (tuple, list)):
        for i, item in enumerate(value):
            if isinstance(item, mx.array):
                yield i, item


def _to_numpy(array: Any, dtype: str | None) -> tuple[np.ndarray, str | None]:
    """Evaluate an ``mx.array`` and return (NumPy array, dtype to store it as)."""
    import mlx.core as mx

    if array.dtype == mx.bfloat16:
        # NumPy has no bfloat16: widen exactly, and store as bf16 unless told otherwise
        return np.array(array.astype(mx.float32)), dtype or "bfloat16"
    if mx.issubdtype(array.dtype, mx.complexfloating):
        arr = np.array(array)
        return np.stack([arr.real, arr.imag], axis=-1), dtype
    return np.array(array), dtype


@contextlib.contextmanager
def capture(model: Any, path: str | Path | None = None, *, inputs: bool = False,
            steps: bool = False, include: Sequence[str] | str | None = None,
            exclude: Sequence[str] | str | None = None, max_tensors: int | None = None,
            max_bytes: int | None = None, dtype: str | None = None,
            meta: dict[str, Any] | None = None) -> Iterator[MLXRecorder]:
    """Record every submodule's output (and optionally inputs) of an MLX model in the block.

    Parameters
    ----------
    model : mlx.nn.Module
    path : where to write the native trace (``.safetensors``); None keeps arrays in
        ``MLXRecorder.tensors``.
    inputs : also record array inputs as ``NAME:in0``, ``NAME:in1`` … (positional first,
        then keyword arguments in call order).
    steps : every call of the root module opens a step: names get ``@0/``, ``@1/`` ….
        Without it, repeated calls of a module give ``NAME#1``, ``NAME#2`` ….
    include, exclude : globs or ``re:<regex>`` on module paths.
    max_tensors, max_bytes : stop recording beyond these; ``meta["truncated"]`` says so.
    dtype : store float arrays as this dtype (``"float32"``, ``"bfloat16"`` …).

    Notes
    -----
    MLX is lazy: recording evaluates each recorded array when its module returns, which
    changes scheduling but not values.
    """
    from mlx import nn

    if not isinstance(model, nn.Module):
        raise TypeError(f"expected an mlx.nn.Module, got {type(model).__name__}")
    writer = None
    if path is not None:
        writer = TraceWriter(path, {"source": "mlx", "model": type(model).__name__,
                                    **(meta or {})})
    rec = MLXRecorder(writer, dtype, NameFilter(include, exclude), max_tensors, max_bytes)
    paths: dict[int, str] = {}
    for name, module in model.named_modules():
        paths.setdefault(id(module), name or ROOT_NAME)
    originals: list[tuple[Any, type]] = []
    subclasses: dict[type, type] = {}

    def recording_call(self: Any, *args: Any, **kwargs: Any) -> Any:
        original_call = super(type(self), self).__call__
        path_ = paths.get(id(self))
        if path_ is None:  # a module created during the forward pass: not part of the model
            return original_call(*args, **kwargs)
        if self is model and steps:
            rec.next_step()
        base = rec.enter(path_)
        rec.module_types.setdefault(path_, type(self).__mro__[1].__name__)
        if inputs:
            rec.record(base, path_, tuple(args) + tuple(kwargs.values()), "in")
        result = original_call(*args, **kwargs)
        rec.record(base, path_, result, "out")
        return result

    try:
        for _, module in model.named_modules():
            cls = type(module)
            if cls in subclasses.values():
                continue  # the same instance reached twice (shared module)
            sub = subclasses.get(cls)
            if sub is None:
                sub = type(cls.__name__, (cls,), {"__call__": recording_call,
                                                  "__module__": cls.__module__,
                                                  "__qualname__": cls.__qualname__})
                subclasses[cls] = sub
            originals.append((module, cls))
            object.__setattr__(module, "__class__", sub)
        yield rec
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    else:
        if writer is not None:
            writer.meta.update({"modules": rec.module_types, "truncated": rec.truncated,
                                "steps": (rec.step + 1) if rec.step is not None else None})
            writer.close()
    finally:
        for module, cls in reversed(originals):
            object.__setattr__(module, "__class__", cls)
