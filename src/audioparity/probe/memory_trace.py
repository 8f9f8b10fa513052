"""Traces from what a probe is given: a path, an open trace, or a mapping of arrays that a
Python callable returned (``{name: array}`` in execution order, or one array)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..trace import TensorInfo, Trace, open_trace

TraceLike = str | Path | Trace | Mapping[str, Any] | np.ndarray

#: the name a callable's single returned array gets
OUTPUT = "output"


class MappingTrace(Trace):
    """A trace held in memory: ``{name: array}`` in execution order."""

    def __init__(self, tensors: Mapping[str, Any], label: str = "<memory>"):
        super().__init__(Path(label))
        self._arrays: dict[str, np.ndarray] = {}
        for name, value in tensors.items():
            array = _as_array(value)
            self._arrays[str(name)] = array
            self._infos[str(name)] = TensorInfo(str(name), tuple(array.shape), array.dtype.name)

    def _read(self, name: str) -> np.ndarray:
        return self._arrays[name]


def _as_array(value: Any) -> np.ndarray:
    """A NumPy array from a NumPy/torch/MLX value (torch tensors detached, moved to CPU)."""
    if hasattr(value, "detach"):
        value = value.detach().float().cpu().numpy() if value.is_floating_point() \
            else value.detach().cpu().numpy()
    return np.asarray(value)


def as_trace(source: TraceLike, label: str = "<memory>") -> Trace:
    """Open ``source`` as a :class:`~audioparity.trace.Trace` (a path is opened lazily)."""
    if isinstance(source, Trace):
        return source
    if isinstance(source, (str, Path)):
        return open_trace(source)
    if isinstance(source, Mapping):
        return MappingTrace(source, label)
    return MappingTrace({OUTPUT: source}, label)


def run_under(fn: Callable[[Any], Any], condition: Any, label: str) -> Trace:
    """Call ``fn(condition)`` and hold what it returns (an array or ``{name: array}``)."""
    return as_trace(fn(condition), label)
