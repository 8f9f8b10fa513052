"""What every capture source shares: SPEC names per call, limits, the module stack, the sink.

A runtime-specific recorder subclasses :class:`Recorder` and says what a tensor is
(:meth:`Recorder.is_tensor`) and how to turn one into NumPy (:meth:`Recorder.to_numpy`).
A capture calls :meth:`Recorder.enter` / :meth:`Recorder.leave` around each module call,
records its inputs and outputs, and ends with :meth:`Recorder.finish` (the forward returned)
or :meth:`Recorder.fail` (it raised: what was recorded is kept, marked incomplete).
An array computed beside the run (a generation record) joins the same trace through
:meth:`Recorder.store`.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..trace import TraceWriter
from .naming import NameFilter, input_name, output_name, repeat_name, step_prefix
from .signature import InputSlots, call_order_indices


def open_sink(path: str | Path | None, meta: dict[str, Any]) -> TraceWriter | None:
    """Where a capture writes: a trace file at ``path``, or None to keep tensors in memory."""
    return None if path is None else TraceWriter(path, meta)


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
    incomplete: bool = False
    error: str | None = None
    complex_names: list[str] = field(default_factory=list)  # stored as real/imag views
    _repeats: dict[str, int] = field(default_factory=dict)
    _stack: list[str] = field(default_factory=list)

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

    def is_complex(self, tensor: Any) -> bool:
        """Whether ``tensor`` is complex (stored as its real/imag view, named in the meta's
        ``complex`` list so that a reader can rebuild it)."""
        return False

    def next_step(self) -> None:
        """Open the next generation step: later names get the ``@k/`` prefix."""
        self.step = 0 if self.step is None else self.step + 1
        self._repeats.clear()

    def enter(self, path: str) -> str:
        """A module starts: push it on the stack, return its (step-prefixed, repeat-suffixed)
        base name."""
        self._stack.append(path)
        key = step_prefix(self.step) + path
        repeat = self._repeats.get(key, 0)
        self._repeats[key] = repeat + 1
        return repeat_name(key, repeat)

    def leave(self) -> None:
        """The module entered last returned."""
        if self._stack:
            self._stack.pop()

    @property
    def current_module(self) -> str:
        """Path of the innermost module running now ("" outside any)."""
        return self._stack[-1] if self._stack else ""

    def record(self, base: str, path: str, value: Any, kind: str) -> None:
        """Store ``value`` (a tensor or a container of them) under SPEC names."""
        if not self.filter(path):
            return
        for index, tensor in self.elements(value):
            name = output_name(base, index) if kind == "out" else input_name(base, index)
            self._record_one(name, tensor)

    def record_inputs(self, base: str, path: str, args: tuple, kwargs: dict[str, Any],
                      slots: InputSlots | None) -> None:
        """Store the tensor arguments of a call as ``NAME:inN``, N = parameter index.

        ``slots`` is the callable's signature (None: keywords follow positionals in call
        order). Inputs are stored in index order, so a keyword call and a positional call of
        one module give the same names in the same order. Non-tensor arguments (tuples,
        None, numbers) take their index but record nothing.
        """
        if not self.filter(path):
            return
        if slots is None:
            indices = call_order_indices(len(args), len(kwargs))
        else:
            indices = slots.indices(len(args), list(kwargs))
        values = (*args, *kwargs.values())
        for index, value in sorted(zip(indices, values, strict=True), key=lambda iv: iv[0]):
            if self.is_tensor(value):
                self._record_one(input_name(base, index), value)

    def _record_one(self, name: str, tensor: Any) -> None:
        if self.truncated or name in self.tensors or (self.writer and name in self.writer):
            return
        stored = len(self.names)
        self.store(name, *self.to_numpy(tensor))
        if len(self.names) > stored and self.is_complex(tensor):
            self.complex_names.append(name)

    def store(self, name: str, arr: np.ndarray, store_as: str | None = None) -> bool:
        """Store an array the caller already holds (not a runtime tensor) under ``name``,
        after what is recorded so far: into the same trace file (or ``tensors``), in
        execution order, counted against ``max_tensors`` / ``max_bytes``.

        ``store_as``: the dtype to write (``"bfloat16"``, ``"float16"``); None keeps the
        array's. Returns False when a limit is reached (nothing stored; ``truncated`` is
        set). The caller chooses ``name``: no step prefix or repeat suffix is added. A
        generation record (logits, tokens, draws per step) goes into a torch capture's
        file this way.
        """
        nbytes = arr.size * (2 if store_as in ("bfloat16", "float16") else arr.dtype.itemsize)
        if (self.max_tensors is not None and len(self.names) >= self.max_tensors) or (
                self.max_bytes is not None and self.bytes_recorded + nbytes > self.max_bytes):
            self.truncated = True
            return False
        if self.writer is not None:
            self.writer.add(name, arr, dtype=store_as)
        else:
            keep = store_as if store_as not in (None, "bfloat16") else arr.dtype
            # a copy unless the array is already ours: the runtime may later change the
            # memory in place (ReLU(inplace=True) on this output, a KV cache)
            self.tensors[name] = arr.astype(keep, copy=not arr.flags.owndata)
        self.names.append(name)
        self.bytes_recorded += nbytes
        return True

    def finish(self) -> None:
        """Write the trace file (with module types, truncation, completeness in its meta)."""
        if self.writer is not None:
            self.writer.meta.update({"modules": self.module_types, "truncated": self.truncated,
                                     "steps": (self.step + 1) if self.step is not None else None,
                                     "incomplete": self.incomplete})
            if self.error is not None:
                self.writer.meta["error"] = self.error
            if self.complex_names:
                self.writer.meta["complex"] = self.complex_names
            self.writer.close()

    def fail(self, exc: BaseException) -> None:
        """The forward raised ``exc``: keep what was recorded, marked incomplete.

        The file (when writing one) holds every tensor recorded before the exception, with
        ``"incomplete": true`` and ``"error": "<Type>: <first line>"`` in its meta; it appears
        atomically. Nothing recorded: no file (an empty trace is no trace). The caller
        re-raises ``exc``; a failure to write is a warning, never a replacement for ``exc``.
        """
        self.incomplete = True
        self.error = error_line(exc)
        if self.writer is None:
            return
        if not self.names:
            self.abort()
            return
        try:
            self.finish()
        except Exception as write_error:  # noqa: BLE001 - the forward's exception matters more
            with contextlib.suppress(Exception):
                self.abort()
            warnings.warn(f"partial trace {self.writer.path} not written: {write_error}",
                          RuntimeWarning, stacklevel=2)

    @contextlib.contextmanager
    def session(self) -> Iterator[Recorder]:
        """The capture block: the trace is finished when it ends, or kept partial (see
        :meth:`fail`) when it raises, and the exception propagates."""
        try:
            yield self
        except BaseException as exc:
            self.fail(exc)
            raise
        self.finish()

    def abort(self) -> None:
        """Discard the trace: no file appears."""
        if self.writer is not None:
            self.writer.abort()


def error_line(exc: BaseException) -> str:
    """``"<ExceptionType>: <first line of the message>"`` (just the type when it has none)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
