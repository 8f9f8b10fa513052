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
from pathlib import Path
from typing import Any

import numpy as np

from ..trace import TraceWriter
from .naming import ROOT_NAME, NameFilter
from .recorder import Recorder


class MLXRecorder(Recorder):
    """Recorder for ``mx.array`` values (evaluated when recorded)."""

    def is_tensor(self, value: Any) -> bool:
        import mlx.core as mx

        return isinstance(value, mx.array)

    def to_numpy(self, array: Any) -> tuple[np.ndarray, str | None]:
        import mlx.core as mx

        if array.dtype == mx.bfloat16:
            # NumPy has no bfloat16: widen exactly, and store as bf16 unless told otherwise
            return np.array(array.astype(mx.float32)), self.dtype or "bfloat16"
        if mx.issubdtype(array.dtype, mx.complexfloating):
            arr = np.array(array)
            return np.stack([arr.real, arr.imag], axis=-1), self.dtype
        return np.array(array), self.dtype


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
        rec.abort()
        raise
    else:
        rec.finish()
    finally:
        for module, cls in reversed(originals):
            object.__setattr__(module, "__class__", cls)
