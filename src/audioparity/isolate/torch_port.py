"""Drive a PyTorch port: components are submodules by their dotted path (the root is
``output``), run under ``torch.no_grad()``; the whole port runs with forward hooks that keep
a watched component's output or return the reference's in its place (patching).

Recorded inputs are converted to tensors on the component's device; float inputs take the
dtype of its first floating parameter (a bf16 port gets bf16 inputs), integers stay as
recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..compare.mapping import module_path
from ..sources.naming import ROOT_NAME
from .port import ComponentRunner, MissingComponent, Port, Slots
from .values import as_outputs, elements, place


def torch_port(model: Any) -> Port:
    """A :class:`~audioparity.isolate.port.Port` over a ``torch.nn.Module``."""

    def component(name: str) -> ComponentRunner:
        return module_runner(submodule(model, name))

    def run(root_inputs: Slots, watch: list[str], replace: Mapping[str, Slots],
            seen: dict[str, Slots]) -> None:
        run_hooked(model, root_inputs, watch, replace, seen)

    return Port("torch", component, run, type(model).__name__)


def submodule(model: Any, name: str) -> Any:
    """The submodule for trace name ``name`` (step prefix and ``#k`` ignored)."""
    path = module_path(name)
    if path == ROOT_NAME:
        return model
    try:
        return model.get_submodule(path)
    except AttributeError:
        children = [n for n, _ in model.named_children()]
        raise MissingComponent(f"the port ({type(model).__name__}) has no submodule '{path}' "
                               f"(its children: {', '.join(children[:8])})") from None


def _target(module: Any) -> tuple[Any, Any]:
    """(float dtype, device) the module's inputs should have."""
    import torch

    for p in module.parameters():
        if p.is_floating_point():
            return p.dtype, p.device
    return None, torch.device("cpu")


def to_torch(array: np.ndarray, dtype: Any = None, device: Any = None) -> Any:
    import torch

    t = torch.from_numpy(np.array(array))  # a writable copy (traces are memory-mapped)
    if dtype is not None and t.is_floating_point():
        t = t.to(dtype)
    return t if device is None else t.to(device)


def call_module(module: Any, inputs: Slots) -> Any:
    """``module(...)`` on recorded inputs placed by parameter, without autograd."""
    import torch

    dtype, device = _target(module)

    def convert(value: Any) -> Any:
        if isinstance(value, tuple):
            return tuple(convert(v) for v in value)
        return to_torch(value, dtype, device)

    args, kwargs = place({k: convert(v) for k, v in inputs.items()}, module.forward)
    with torch.no_grad():
        return module(*args, **kwargs)


def module_runner(module: Any) -> ComponentRunner:
    """Run ``module`` on recorded inputs; outputs as NumPy by output index."""
    return lambda inputs: as_outputs(call_module(module, inputs))


def substitute(value: Any, outputs: Slots) -> Any:
    """``value`` (a tensor or a container of them) with element k replaced by ``outputs[k]``
    (dtype and device of the element it replaces); what is not given stays."""
    import torch

    def swap(k: int, old: Any) -> Any:
        if k not in outputs or not isinstance(old, torch.Tensor):
            return old
        new = to_torch(outputs[k], device=old.device)
        if old.is_complex() and not new.is_complex():
            new = torch.view_as_complex(new.contiguous())
        return new.to(old.dtype)

    if isinstance(value, torch.Tensor):
        return swap(0, value)
    items = elements(value)
    if hasattr(value, "to_tuple"):  # ModelOutput: set its fields in place, keep its type
        for k, key in enumerate(list(value.keys())):
            value[key] = swap(k, items[k])
        return value
    if isinstance(value, dict):
        return {key: swap(k, v) for k, (key, v) in enumerate(value.items())}
    if isinstance(value, (tuple, list)):
        return type(value)(swap(k, v) for k, v in enumerate(value))
    return value


def run_hooked(model: Any, root_inputs: Slots, watch: list[str],
               replace: Mapping[str, Slots], seen: dict[str, Slots]) -> None:
    """Run ``model`` on the root inputs; keep the first output of every watched component
    (and the root's, as ``output``) in ``seen``; replaced components return the given
    outputs."""
    handles = []

    def hook_for(name: str):
        def hook(module: Any, args: tuple, output: Any) -> Any:
            if name in seen:
                return None
            if name in replace:
                output = substitute(output, replace[name])
            seen[name] = as_outputs(output)
            return output if name in replace else None

        return hook

    try:
        for name in dict.fromkeys([*watch, *replace]):
            if module_path(name) != ROOT_NAME:
                handles.append(submodule(model, name).register_forward_hook(hook_for(name)))
        result = call_module(model, root_inputs)
    finally:
        for h in handles:
            h.remove()
    seen[ROOT_NAME] = as_outputs(result)
