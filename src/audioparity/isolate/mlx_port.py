"""Drive an MLX port (``mlx.nn.Module``): components are submodules by their torch-style
path (as the MLX capture names them: ``net.0`` for ``Sequential``'s ``net.layers.0``).

MLX has no forward hooks: for an end-to-end run each watched or patched instance gets, for
the duration of the call, a subclass whose ``__call__`` keeps its output or returns the
reference's. Inputs and outputs are taken as they are: a component whose layout differs
from the reference's (MLX convolutions are channels-last) needs a small wrapper in a
:class:`~audioparity.isolate.callable_port.CallablePort` that transposes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..compare.mapping import module_path
from ..sources.mlx_capture import torch_style_path
from ..sources.naming import ROOT_NAME
from .callable_port import substitute
from .port import ComponentRunner, MissingComponent, Port, Slots
from .values import as_outputs, place


def mlx_port(model: Any) -> Port:
    """A :class:`~audioparity.isolate.port.Port` over an ``mlx.nn.Module``."""

    def component(name: str) -> ComponentRunner:
        return module_runner(submodule(model, name))

    def run(root_inputs: Slots, watch: list[str], replace: Mapping[str, Slots],
            seen: dict[str, Slots]) -> None:
        _run_patched(model, root_inputs, watch, replace, seen)

    return Port("mlx", component, run, type(model).__name__)


def submodule(model: Any, name: str) -> Any:
    path = module_path(name)
    if path == ROOT_NAME:
        return model
    for mlx_name, module in model.named_modules():
        if mlx_name and torch_style_path(model, mlx_name) == path:
            return module
    raise MissingComponent(f"the port ({type(model).__name__}) has no submodule '{path}'")


def call_module(module: Any, inputs: Slots) -> Any:
    import mlx.core as mx

    def convert(value: Any) -> Any:
        if isinstance(value, tuple):
            return tuple(convert(v) for v in value)
        return mx.array(np.array(value))

    args, kwargs = place({k: convert(v) for k, v in inputs.items()}, module.__call__)
    return module(*args, **kwargs)


def module_runner(module: Any) -> ComponentRunner:
    return lambda inputs: as_outputs(call_module(module, inputs))


def _run_patched(model: Any, root_inputs: Slots, watch: list[str],
                 replace: Mapping[str, Slots], seen: dict[str, Slots]) -> None:
    swapped: list[tuple[Any, type]] = []

    def intercept(name: str, cls: type) -> type:
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            out = cls.__call__(self, *args, **kwargs)
            if name in seen:
                return out
            if name in replace:
                out = substitute(out, replace[name])
            seen[name] = as_outputs(out)
            return out

        return type(cls.__name__, (cls,), {"__call__": call, "__module__": cls.__module__})

    try:
        for name in dict.fromkeys([*watch, *replace]):
            if module_path(name) == ROOT_NAME:
                continue
            module = submodule(model, name)
            cls = type(module)
            swapped.append((module, cls))
            object.__setattr__(module, "__class__", intercept(name, cls))
        result = call_module(model, root_inputs)
    finally:
        for module, cls in reversed(swapped):
            object.__setattr__(module, "__class__", cls)
    seen[ROOT_NAME] = as_outputs(result)
