"""Drive a component exported to ONNX: an ONNX Runtime session (or an ``.onnx`` path) per
component. The reference's recorded tensor inputs, in index order, fill the graph's inputs
in order (an exporter keeps a forward's tensor arguments and drops the rest); each is cast
to the dtype the graph declares. Outputs are the graph's outputs in order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .port import ComponentRunner, Slots

_ORT_TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64,
              "tensor(float16)": np.float16, "tensor(int64)": np.int64,
              "tensor(int32)": np.int32, "tensor(int8)": np.int8, "tensor(uint8)": np.uint8,
              "tensor(bool)": np.bool_}


def open_session(model: str | Path) -> Any:
    """A CPU ONNX Runtime session for ``model`` (InputError when it does not load)."""
    import onnxruntime as ort

    path = Path(model)
    if not path.exists():
        raise InputError(path, "no such file")
    try:
        return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - ORT raises its own exception types
        raise InputError(path, f"not a loadable ONNX model ({type(exc).__name__})") from None


def session_runner(session: Any) -> ComponentRunner:
    """Run ``session`` (or the ``.onnx`` file it names) on recorded inputs."""
    if isinstance(session, (str, Path)):
        session = open_session(session)

    def run(given: Slots) -> Slots:
        inputs = {k: v for k, v in given.items() if isinstance(k, int)}  # tensors only
        graph_inputs = session.get_inputs()
        if len(graph_inputs) != len(inputs):
            names = [i.name for i in graph_inputs]
            raise ValueError(f"the ONNX graph takes {len(names)} inputs {names}, the reference "
                             f"recorded {len(inputs)} (in{', in'.join(map(str, inputs))})")
        feed = {g.name: np.ascontiguousarray(inputs[k], dtype=_ORT_TYPES.get(g.type))
                for g, k in zip(graph_inputs, sorted(inputs), strict=True)}
        return dict(enumerate(session.run(None, feed)))

    return run
