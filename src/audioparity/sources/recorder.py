"""What every capture source shares: SPEC names per call, limits, and the tensor sink.

A runtime-specific recorder subclasses :class:`Recorder` and says what a tensor is
(:meth:`Recorder.is_tensor`) and how to turn one into NumPy (:meth:`Recorder.to_numpy`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..trace import TraceWriter
from .naming import NameFilter, input_name, output_name, repeat_name, step_prefix


@dataclass
class Recorder:
    """Collects tensors; writes them to a trace file or keeps them in ``tensors``."""

    writer: TraceWriter | None
    dtype: str | None
    filter: NameFilter
    max_tensors: int | None = None
    max_bytes: int | None = None
    names: list[str] = field(default_factory=list)
    tensors: dict[str, np.ndarray] = field(default_factory=dict)
    module_types: dict[str, str] = field(default_factory=dict)
    truncated: bool = False
    bytes_recorded: int = 0
    step: int | None = None
    _repeats: dict[str, int] = field(default_factory=dict)

    def is_tensor(self, value: Any) -> bool:
        """Whether ``value`` is a tensor of this runtime."""
        raise NotImplementedError

    def elements(self, value: Any) -> Iterator[tuple[int, Any]]:
        """(index, tensor) for a tensor, or each tensor element of a tuple/list/dict/ModelOutput."""
        if self.is_tensor(value):
            yield 0, value
            return
        if hasattr(value, "to_tuple"):  # transformers ModelOutput
            value = value.to_tuple()
        elif isinstance(value, dict):
            value = tuple(value.values())
        if isinstance(value, (tuple, list)):
            for i, item in enumerate(value):
                if self.is_tensor(item):
                    yield i, item

    def to_numpy(self, tensor: Any) -> tuple[np.ndarray, str | None]:
        """(array, dtype to store it as; None keeps the array's)."""
        raise NotImplementedError

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
        """Store ``value`` (a tensor or a container of them) under SPEC names."""
        if not self.filter(path):
            return
        for index, tensor in self.elements(value):
            name = output_name(base, index) if kind == "out" else input_name(base, index)
            if self.truncated or name in self.tensors or (self.writer and name in self.writer):
                continue
            self._store(name, *self.to_numpy(tensor))

    def _store(self, name: str, arr: np.ndarray, store_as: str | None) -> None:
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

    def finish(self) -> None:
        """Write the trace file (with the module types and truncation in its meta)."""
        if self.writer is not None:
            self.writer.meta.update({"modules": self.module_types, "truncated": self.truncated,
                                     "steps": (self.step + 1) if self.step is not None else None})
            self.writer.close()

    def abort(self) -> None:
        """Discard the trace: no file appears."""
        if self.writer is not None:
            self.writer.abort()
