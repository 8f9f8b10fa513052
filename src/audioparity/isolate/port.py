"""What isolation needs from a port: run one component on given inputs, and (to fill the
end-to-end column and to patch) run the whole port while watching or replacing components.

Each runtime has one driver module (:mod:`.torch_port`, :mod:`.mlx_port`,
:mod:`.onnx_port`, :mod:`.callable_port`, :mod:`.file_port`); :func:`as_port` picks one for
whatever the user hands over.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: input index -> array, as recorded; output index -> array, as returned
Slots = dict[int, np.ndarray]
#: what a component is called with: recorded inputs by index, and values the trace implies
#: by parameter name (``position_embeddings``; see :func:`.values.place`)
CallInputs = dict[int | str, Any]
#: runs one component on the reference's inputs and returns its outputs
ComponentRunner = Callable[[CallInputs], Slots]
#: ``run(root_inputs, watch, replace, seen)``: the whole port on the reference's root
#: inputs; the outputs of each watched component (its first call) and of the root
#: (``"output"``) go into ``seen`` as they appear (so a run that raises keeps what it
#: reached); each replaced component returns the given outputs
EndToEnd = Callable[[Slots, list[str], Mapping[str, Slots], dict[str, Slots]], None]


class MissingComponent(KeyError):
    """The port has nothing under this component name (the message says what it has)."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass
class Port:
    """A drivable port: ``kind`` (``torch``, ``mlx``, ``onnxruntime``, ``numpy``, ``file``),
    ``component(name)`` -> a runner (raises :class:`MissingComponent`), and ``run`` (None
    when the port cannot be run end to end by the tool)."""

    kind: str
    component: Callable[[str], ComponentRunner]
    run: EndToEnd | None = None
    description: str = ""


def as_port(obj: Any) -> Port:
    """A :class:`Port` for a torch ``nn.Module``, an MLX ``nn.Module``, a
    :class:`~audioparity.isolate.callable_port.CallablePort`, or a mapping of component
    name -> torch module / MLX module / ONNX Runtime session or ``.onnx`` path / NumPy
    callable (isolation only)."""
    if isinstance(obj, Port):
        return obj
    from .callable_port import CallablePort

    if isinstance(obj, CallablePort):
        return obj.port()
    if is_torch_module(obj):
        from .torch_port import torch_port

        return torch_port(obj)
    if is_mlx_module(obj):
        from .mlx_port import mlx_port

        return mlx_port(obj)
    if isinstance(obj, Mapping):
        return CallablePort(dict(obj)).port()
    raise TypeError(f"cannot drive a {type(obj).__name__}: give a torch or MLX module, a "
                    "CallablePort, or a mapping of component name -> module / ONNX Runtime "
                    "session / callable")


def runner_for(value: Any) -> ComponentRunner:
    """A runner for one component given as a torch or MLX module, an ONNX Runtime session
    (or a path to an ``.onnx`` file), or a callable taking and returning NumPy arrays."""
    if is_torch_module(value):
        from .torch_port import module_runner

        return module_runner(value)
    if is_mlx_module(value):
        from .mlx_port import module_runner as mlx_runner

        return mlx_runner(value)
    if is_onnx(value):
        from .onnx_port import session_runner

        return session_runner(value)
    if callable(value):
        from .callable_port import callable_runner

        return callable_runner(value)
    raise TypeError(f"a component must be a module, an ONNX Runtime session or a callable "
                    f"(got {type(value).__name__})")


def is_torch_module(obj: Any) -> bool:
    if not any(c.__module__.startswith("torch.nn") for c in type(obj).__mro__):
        return False
    import torch

    return isinstance(obj, torch.nn.Module)


def is_mlx_module(obj: Any) -> bool:
    if not any(c.__module__.startswith("mlx") for c in type(obj).__mro__):
        return False
    from mlx import nn

    return isinstance(obj, nn.Module)


def is_onnx(obj: Any) -> bool:
    if isinstance(obj, (str, Path)):
        return str(obj).endswith(".onnx")
    return type(obj).__module__.startswith("onnxruntime")
