"""Capture every intermediate tensor of a PyTorch model with forward hooks.

>>> with capture(model, "ref.safetensors", inputs=True) as rec:
...     model(input_ids)
>>> rec.names[:3]
['model.embed_tokens:in0', 'model.embed_tokens', ...]

Outputs are recorded when a module finishes (children before parents), inputs when it
starts, numbered by the parameter they fill (``layer(h, attention_mask=m)`` records ``in0``
and ``in1``, like ``layer(h, m)``). Tensors stream to disk as they are produced; hooks (and
patched functions) are removed on exit. When the forward pass raises, the file still appears,
atomically, with what was recorded up to the exception and ``"incomplete": true`` and
``"error": "<Type>: <message>"`` in its meta; the exception propagates unchanged (nothing
recorded: no file).
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
from .signature import InputSlots, SlotCache


class TorchRecorder(Recorder):
    """Recorder for torch tensors."""

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

    def is_complex(self, tensor: Any) -> bool:
        return bool(tensor.is_complex())


def forward_slots(module: Any, cache: SlotCache) -> InputSlots | None:
    """The parameters of ``module.forward``, cached per class (an instance override is read
    every call: accelerate and friends replace ``forward`` on the instance)."""
    if "forward" in vars(module):
        return InputSlots.of(module.forward)
    return cache.get(type(module), module.forward)


def _is_parametrization(path: str) -> bool:
    """``conv.parametrizations.weight`` (and its ``.0``): torch's weight norm recomputing a
    weight on each forward — a parameter, not an activation, and no port has it."""
    return ".parametrizations." in f".{path}."


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
    inputs : also record tensor inputs as ``NAME:inN``, N = the index of the parameter in
        ``module.forward``'s signature, so ``layer(h, attention_mask=m)`` and ``layer(h, m)``
        both record ``in0``, ``in1``; ``**kwargs`` tensors the signature does not name follow
        the last named parameter, in call order.
    steps : every call of the root module opens a step: names get ``@0/``, ``@1/`` …
        (use for ``generate()`` loops). Without it, repeated calls give ``NAME#1`` ….
    include, exclude : globs or ``re:<regex>`` on module paths.
    functions : dotted paths of module-level functions to record too (patched while
        capturing), named ``<enclosing module>.<function>``; e.g.
        ``"transformers.models.qwen3.modeling_qwen3.apply_rotary_pos_emb"``
        (see :mod:`audioparity.sources.patched_functions`).
    max_tensors, max_bytes : stop recording beyond these; ``meta["truncated"]`` says so.
    dtype : store float tensors as this dtype (``"float32"``, ``"bfloat16"`` …).

    Weight-norm parametrizations (``*.parametrizations.weight``) are not recorded: they
    compute weights, not activations. If the block raises, the trace keeps what was recorded
    before (meta ``incomplete``, ``error``) and the exception propagates; see
    :meth:`Recorder.fail`.
    """
    import torch

    writer = open_sink(path, {"source": "torch", "model": type(model).__name__, **(meta or {})})
    rec = TorchRecorder(writer, dtype, NameFilter(include, exclude), max_tensors, max_bytes)
    names = {m: (n or ROOT_NAME) for n, m in model.named_modules()
             if not _is_parametrization(n)}
    handles: list[Any] = []
    slot_cache = SlotCache()
    active_bases: dict[int, list[str]] = {}

    def pre_hook(module: torch.nn.Module, args: tuple, kwargs: dict) -> None:
        path_ = names[module]
        if module is model and steps:
            rec.next_step()
        base = rec.enter(path_)
        rec.module_types.setdefault(path_, type(module).__name__)
        active_bases.setdefault(id(module), []).append(base)
        if inputs:
            rec.record_inputs(base, path_, args, kwargs, forward_slots(module, slot_cache))

    def post_hook(module: torch.nn.Module, args: tuple, output: Any) -> None:
        stack = active_bases.get(id(module))
        base = stack.pop() if stack else names[module]
        rec.record(base, names[module], output, "out")
        rec.leave()

    try:
        with rec.session(), patch_functions(rec, functions, inputs):
            for module in names:
                handles.append(module.register_forward_pre_hook(pre_hook, with_kwargs=True))
                handles.append(module.register_forward_hook(post_hook))
            yield rec
    finally:
        for h in handles:
            h.remove()
