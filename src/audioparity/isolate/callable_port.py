"""Drive a port written as plain Python callables (NumPy, JAX, anything that takes and
returns arrays), and MLX or other code without hooks, through an override callback.

Isolation needs each component as a callable; the end-to-end column and patching need the
port's forward to pass every component's output through ``hook``::

    def forward(audio, hook=lambda name, value: value):
        z = hook("encoder", encoder(audio))       # the tool may read z, or replace it
        codes = hook("quantizer", quantize(z))
        return decoder(codes)

    port = CallablePort({"encoder": encoder, "quantizer": quantize, "decoder": decoder},
                        forward=forward)

``hook(name, value)`` returns ``value`` (to watch) or the reference's output for ``name``
(to patch); a tuple output may be replaced element by element. Components receive NumPy
arrays (the reference's recorded inputs, placed by parameter) and may return NumPy, torch or
MLX arrays or tuples of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..sources.naming import ROOT_NAME
from .port import ComponentRunner, MissingComponent, Port, Slots, runner_for
from .values import as_outputs, elements, place

#: the keyword a :class:`CallablePort`'s forward takes its override callback by
HOOK = "hook"


def callable_runner(fn: Callable[..., Any]) -> ComponentRunner:
    """Run ``fn`` on recorded inputs (NumPy, placed by parameter)."""
    def run(inputs: Slots) -> Slots:
        args, kwargs = place({k: v if isinstance(v, tuple) else np.array(v)
                              for k, v in inputs.items()}, fn)
        return as_outputs(fn(*args, **kwargs))

    return run


@dataclass
class CallablePort:
    """A port as named components plus, optionally, a ``forward(*inputs, hook=...)`` that
    runs them all (see the module docstring).

    ``components`` values may be callables, torch or MLX modules, ONNX Runtime sessions or
    ``.onnx`` paths. Without ``forward`` the tool can isolate components but not run the port
    end to end (give the port's trace for that column).
    """

    components: Mapping[str, Any] = field(default_factory=dict)
    forward: Callable[..., Any] | None = None

    def port(self) -> Port:
        kinds = {_kind(v) for v in self.components.values()}
        kind = kinds.pop() if len(kinds) == 1 else "mixed"
        return Port(kind, self._component, self._run if self.forward else None,
                    f"{len(self.components)} components")

    def _component(self, name: str) -> ComponentRunner:
        if name not in self.components:
            raise MissingComponent(f"the port has no component '{name}' (it has "
                                   f"{', '.join(self.components) or 'none'})")
        return runner_for(self.components[name])

    def _run(self, root_inputs: Slots, watch: list[str], replace: Mapping[str, Slots],
             seen: dict[str, Slots]) -> None:
        def hook(name: str, value: Any) -> Any:
            if name in seen:
                return value
            if name in replace:
                value = substitute(value, replace[name])
            if name in watch or name in replace:
                seen[name] = as_outputs(value)
            return value

        args, kwargs = place({k: np.array(v) for k, v in root_inputs.items()}, self.forward,
                             skip=(HOOK,))
        seen[ROOT_NAME] = as_outputs(self.forward(*args, **kwargs, **{HOOK: hook}))


def _kind(component: Any) -> str:
    from .port import is_mlx_module, is_onnx, is_torch_module

    for kind, test in (("torch", is_torch_module), ("mlx", is_mlx_module),
                       ("onnxruntime", is_onnx)):
        if test(component):
            return kind
    return "numpy"


def substitute(value: Any, outputs: Slots) -> Any:
    """``value`` with element k replaced by ``outputs[k]`` (a bare array is element 0)."""
    items = elements(value)
    if len(items) == 1 and items[0] is value:
        return _like(outputs.get(0, value), value)
    new = [_like(outputs[k], v) if k in outputs else v for k, v in enumerate(items)]
    if isinstance(value, dict):
        return dict(zip(value, new, strict=True))
    return type(value)(new) if isinstance(value, (tuple, list)) else value


def _like(new: np.ndarray, old: Any) -> Any:
    """``new`` in the array type of ``old`` (NumPy, or MLX when the port computes in MLX)."""
    if type(old).__module__.startswith("mlx"):
        import mlx.core as mx

        return mx.array(np.asarray(new)).astype(old.dtype)
    if isinstance(old, np.ndarray):
        return np.asarray(new).astype(old.dtype, copy=False)
    return new
