"""A port in another language: its components' outputs read back from a file.

The port loads the inputs ``audioparity isolate export`` wrote (``NAME:in0`` …), runs each
component on them, and saves what it returns under the component's name (``NAME``, and
``NAME:out1`` … for further outputs) in any trace format (safetensors, ``.npz``, a
directory of ``.npy``). This module reads those back as the component's isolated outputs.
"""

from __future__ import annotations

from pathlib import Path

from ..trace import Trace, open_trace
from .port import ComponentRunner, MissingComponent, Port, Slots
from .recorded import read_tensor, slot_names


def file_port(paths: list[str | Path]) -> Port:
    """A :class:`~audioparity.isolate.port.Port` whose components return what the files
    hold under their names (it cannot run end to end)."""
    traces: list[Trace] = [open_trace(p) for p in paths]

    def component(name: str) -> ComponentRunner:
        for trace in traces:
            outputs = slot_names(trace, name)[1]
            if outputs:
                return lambda _inputs, t=trace, o=outputs: _read(t, o)
        held = [n for t in traces for n in t.names][:6]
        raise MissingComponent(f"no output '{name}' in {', '.join(str(t.path) for t in traces)}"
                               f" (it holds {', '.join(held)}): save the component's output "
                               f"under its name")

    return Port("file", component, None, ", ".join(str(p) for p in paths))


def _read(trace: Trace, outputs: dict[int, str]) -> Slots:
    return {k: read_tensor(trace, n) for k, n in outputs.items()}
