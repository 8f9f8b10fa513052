"""Write the inputs a component needs to a file, for a port in another language.

The file is a native trace (safetensors) holding the reference's recorded inputs under
their trace names (``decoder:in0`` …); its metadata lists, per component, the input names
and the output names the port should write back (``decoder``, ``decoder:out1`` …) with the
reference's shapes, and under ``complex`` the inputs stored as a trailing (real, imag)
axis. ``audioparity isolate REF --outputs FILE`` then reads the port's file
(docs/isolate.md shows the few lines a port adds).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..trace import Trace, open_trace, write_trace
from .engine import resolve_components
from .recorded import read_tensor, slot_names


def export_inputs(reference: str | Path | Trace, components: Sequence[str],
                  path: str | Path) -> dict[str, dict]:
    """Write the recorded inputs of ``components`` to ``path`` (atomically) and return
    what the metadata says per component: ``{"inputs": {name: shape}, "outputs": {name:
    shape}}``."""
    if not isinstance(reference, Trace):
        with open_trace(reference) as ref:
            return export_inputs(ref, components, path)
    ref = reference
    names = resolve_components(ref, components)
    tensors = {}
    described: dict[str, dict] = {}
    for name in names:
        inputs, outputs = slot_names(ref, name)
        for tensor in inputs.values():
            tensors[tensor] = read_tensor(ref, tensor)
        described[name] = {
            "inputs": {n: list(ref.info(n).shape) for _, n in sorted(inputs.items())},
            "outputs": {n: list(ref.info(n).shape) for _, n in sorted(outputs.items())}}
    complex_names = [n for n, a in tensors.items() if a.dtype.kind == "c"]
    meta = {"source": "audioparity isolate export", "reference": str(ref.path),
            "components": described}
    if complex_names:  # stored as a trailing (real, imag) axis, as the captures do
        meta["complex"] = complex_names
    write_trace(path, tensors, meta)
    return described
