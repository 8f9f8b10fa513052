"""Capture every intermediate array of an MLX model (``mlx.nn.Module``), under SPEC names.

MLX has no forward hooks, and Python looks ``__call__`` up on the type, so while capturing
each module instance of the model gets a dynamically created subclass of its own class whose
``__call__`` records and then defers to the original. The original classes (and patched
functions) are restored on exit. When the forward pass raises, the file still appears,
atomically, with what was recorded up to the exception and ``"incomplete": true`` and
``"error": "<Type>: <message>"`` in its meta; the exception propagates unchanged (nothing
recorded: no file).

>>> with capture(mlx_model, "port.safetensors", inputs=True) as rec:
...     mlx_model(x)
>>> rec.names[:2]
['embed:in0', 'embed']

Names are those the torch capture gives the same module tree. ``mlx.nn.Module.named_modules()``
gives the same dotted paths as torch except under ``mlx.nn.Sequential``, which keeps its
children in a list ``layers`` (``net.layers.0``) where ``torch.nn.Sequential`` numbers them
directly (``net.0``): that ``layers`` component is dropped (:func:`torch_style_path`). A plain
Python list attribute named ``layers`` is torch's ``ModuleList`` and keeps its name. The root's
output is ``output``; inputs are numbered by the parameter of ``__call__`` they fill, as in the
torch capture. Arrays are stored as MLX produced them: an MLX conv output stays ``[B, T, C]``
(NLC) where PyTorch has ``[B, C, T]``; telling the two apart is the comparison's job, never the
trace's. Complex arrays are stored as a trailing ``(real, imag)`` axis, like the torch capture.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .naming import ROOT_NAME, NameFilter
from .patched_functions import patch_functions
from .recorder import Recorder, open_sink
from .signature import SlotCache


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

    def is_complex(self, array: Any) -> bool:
        import mlx.core as mx

        return bool(mx.issubdtype(array.dtype, mx.complexfloating))


def torch_style_path(model: Any, name: str) -> str:
    """The torch capture's name for the submodule at MLX path ``name`` of ``model``.

    >>> from mlx import nn
    >>> net = nn.Sequential(nn.Conv1d(2, 4, 3), nn.ELU())
    >>> torch_style_path(net, "layers.1")
    '1'
    """
    from mlx import nn

    kept: list[str] = []
    node = model
    for part in name.split(".") if name else []:
        if part == "layers" and isinstance(node, nn.Sequential):
            node = node.layers  # torch's Sequential numbers its children directly
            continue
        node = node[int(part)] if isinstance(node, (list, tuple)) else node[part]
        kept.append(part)
    return ".".join(kept)


def module_paths(model: Any) -> dict[int, str]:
    """``id(module) -> torch-style path`` for every module of ``model`` (root: ``output``).

    A module reachable under two paths (shared) keeps the first MLX lists.
    """
    paths: dict[int, str] = {}
    for name, module in model.named_modules():
        paths.setdefault(id(module), torch_style_path(model, name) or ROOT_NAME)
    return paths


@contextlib.contextmanager
def capture(model: Any, path: str | Path | None = None, *, inputs: bool = False,
            steps: bool = False, include: Sequence[str] | str | None = None,
            exclude: Sequence[str] | str | None = None, functions: Sequence[str] = (),
            max_tensors: int | None = None, max_bytes: int | None = None,
            dtype: str | None = None, meta: dict[str, Any] | None = None,
            ) -> Iterator[MLXRecorder]:
    """Record every submodule's output (and optionally inputs) of an MLX model in the block.

    Parameters
    ----------
    model : mlx.nn.Module
    path : where to write the native trace (``.safetensors``); None keeps arrays in
        ``MLXRecorder.tensors``.
    inputs : also record array inputs as ``NAME:inN``, N = the index of the parameter in
        the module's ``__call__`` signature (``self`` excluded), exactly as the torch capture
        numbers ``forward``'s: ``block(x, mask=m)`` and ``block(x, m)`` both record ``in0``,
        ``in1``.
    steps : every call of the root module opens a step: names get ``@0/``, ``@1/`` ….
        Without it, repeated calls of a module give ``NAME#1``, ``NAME#2`` ….
    include, exclude : globs or ``re:<regex>`` on (torch-style) module paths.
    functions : dotted paths of functions to record too (patched while capturing), named
        ``<enclosing module>.<function>`` like the torch capture's: ``"mlx.nn.leaky_relu"``,
        ``"mlx.nn.gelu"``, ``"mlx.core.fast.rms_norm"``, ``"mlx.core.tanh"``. ``mlx.core``
        functions can be patched (its modules accept new attributes); only calls that look
        the function up through that attribute are seen (``mx.tanh(x)``, ``nn.gelu(x)``), not
        MLX's own layers, which call their module-local names (``nn.GELU`` calls
        ``mlx.nn.layers.activations.gelu``: patch that path to see them), nor array methods
        and operators (``x.exp()``, ``x * y``), nor code inside ``mx.compile``.
    max_tensors, max_bytes : stop recording beyond these; ``meta["truncated"]`` says so.
    dtype : store float arrays as this dtype (``"float32"``, ``"bfloat16"`` …).

    Notes
    -----
    MLX is lazy: recording evaluates each recorded array when its module returns, which
    changes scheduling but not values. If the block raises, the trace keeps what was recorded
    before (meta ``incomplete``, ``error``) and the exception propagates; see
    :meth:`Recorder.fail`.
    """
    from mlx import nn

    if not isinstance(model, nn.Module):
        raise TypeError(f"expected an mlx.nn.Module, got {type(model).__name__}")
    writer = open_sink(path, {"source": "mlx", "model": type(model).__name__, **(meta or {})})
    rec = MLXRecorder(writer, dtype, NameFilter(include, exclude), max_tensors, max_bytes)
    paths = module_paths(model)
    slot_cache = SlotCache()
    originals: list[tuple[Any, type]] = []
    subclasses: dict[type, type] = {}

    def recording_call(self: Any, *args: Any, **kwargs: Any) -> Any:
        original_call = super(type(self), self).__call__
        path_ = paths.get(id(self))
        if path_ is None:  # a module created during the forward pass: not part of the model
            return original_call(*args, **kwargs)
        if self is model and steps:
            rec.next_step()
        cls = type(self).__mro__[1]
        base = rec.enter(path_)
        try:
            rec.module_types.setdefault(path_, cls.__name__)
            if inputs:
                rec.record_inputs(base, path_, args, kwargs, slot_cache.get(cls, original_call))
            result = original_call(*args, **kwargs)
            rec.record(base, path_, result, "out")
            return result
        finally:
            rec.leave()

    try:
        with rec.session(), patch_functions(rec, functions, inputs):
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
    finally:
        for module, cls in reversed(originals):
            object.__setattr__(module, "__class__", cls)
