"""The eval callback: llama.cpp calls it for every graph node, in execution order.

``cb_eval(t, ask, user_data)`` is called twice per wanted node: with ``ask=True`` before
computing (return whether its data is wanted) and with ``ask=False`` once it is computed
(read it; return False to stop the computation). Every node is asked exactly once per graph
run, so nodes are named in the ask call and read in the data call.

A Python exception must never cross into C (ctypes would print it and carry on with a
wrong answer, or the process could die in ggml): everything is caught, the first error is
kept in :attr:`EvalCallback.error`, no more data is asked for and the computation is
stopped; the capture raises it after ``llama_decode`` returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..naming import NameFilter, step_prefix
from ..recorder import Recorder
from .ggml_tensor import GGML, NodeInfo
from .node_names import NodeNamer

#: ggml types stored in the trace in their own (narrower) dtype, exactly
_STORE_AS = {"f16": "float16", "bf16": "bfloat16"}


@dataclass(frozen=True)
class NodeValue:
    """A node's values (widened to float32) and the dtype to store them as."""

    array: np.ndarray
    store_as: str | None


class NodeRecorder(Recorder):
    """The shared recorder (limits, streaming, partial traces) fed with :class:`NodeValue`."""

    def is_tensor(self, value: Any) -> bool:
        return isinstance(value, NodeValue)

    def to_numpy(self, tensor: NodeValue) -> tuple[np.ndarray, str | None]:
        return tensor.array, tensor.store_as


class EvalCallback:
    """Names every node, records the ones ``keep`` selects into ``recorder``."""

    def __init__(self, ggml: GGML, recorder: Recorder, keep: NameFilter, c_type: Any):
        self.ggml = ggml
        self.recorder = recorder
        self.keep = keep
        self.namer = NodeNamer()
        self.step: int | None = None
        self.error: BaseException | None = None
        self.error_node: str | None = None
        self.unread: dict[str, str] = {}  # trace name -> why it was not recorded
        #: trace name -> quantized weight type it was computed from, directly or upstream
        #: (the latest read so far): its values carry that quantization's error
        self.qtypes: dict[str, str] = {}
        self._qtype: str | None = None
        self.nodes_seen = 0
        self._pending: dict[int, tuple[str, NodeInfo, str | None]] = {}  # name, info, qtype
        self._checked = False
        self.c_function = c_type(self._call)  # kept alive as long as the context runs

    def start_step(self, step: int | None) -> None:
        """The next ``llama_decode`` is generation step ``step`` (None: no steps)."""
        self.step = step
        self.namer.reset()
        self._pending.clear()

    def _call(self, ptr: int, ask: bool, user_data: Any) -> bool:
        try:
            if self.error is not None:
                return False
            return self._ask(ptr) if ask else self._read(ptr)
        except BaseException as exc:  # noqa: BLE001 - nothing may propagate into C
            self.error = exc
            return False

    def _ask(self, ptr: int) -> bool:
        if not self._checked:
            problem = self.ggml.check_layout(ptr)
            if problem:
                raise RuntimeError(problem)
            self._checked = True
        info = self.ggml.info(ptr)
        name = self.namer.name(info.name)
        self.nodes_seen += 1
        self._qtype = self.ggml.quantized_source(ptr) or self._qtype
        if self.recorder.truncated or not self.keep(name.split("#", 1)[0]):
            return False
        self._pending[ptr] = (step_prefix(self.step) + name, info, self._qtype)
        return True

    def _read(self, ptr: int) -> bool:
        name, info, qtype = self._pending.pop(ptr, (None, None, None))
        if name is None:
            return True  # a node asked for before an error: nothing to do
        self.error_node = name
        array = self.ggml.read(ptr)
        if array is None:
            self.unread[name] = f"{info.op} of type {info.type_name} is not readable"
        else:
            self.recorder.record(name, name, NodeValue(array, _STORE_AS.get(info.type_name)),
                                 "out")
            self.recorder.module_types.setdefault(name.split("/", 1)[-1], info.op)
            if qtype:
                self.qtypes[name] = qtype
        self.error_node = None
        return True  # past the recorder's limit the run goes on, unrecorded
