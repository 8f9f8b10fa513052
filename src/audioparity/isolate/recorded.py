"""What the reference recorded around one component: its inputs and its outputs.

A reference trace captured with inputs (``capture(model, path, inputs=True)``) holds, for
each module ``NAME``, its tensor inputs ``NAME:in0``, ``NAME:in1`` … (numbered by the
parameter they fill in ``forward``'s signature, so a keyword argument keeps its slot) and its
outputs ``NAME``, ``NAME:out1`` …. Isolation feeds the inputs to the port's component and
compares what it returns with the outputs.

>>> call = recorded_call(trace, "decoder")
>>> sorted(call.inputs), sorted(call.outputs)
([0], [0])
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

import numpy as np

from ..compare.mapping import split_name
from ..errors import InputError
from ..sources.naming import ROOT_NAME
from ..trace import Trace

_SLOT = re.compile(r"^(?P<base>.*):(?P<kind>in|out)(?P<index>\d+)$")

CAPTURE_HINT = ("capture the reference with its inputs recorded: "
                "capture(model, path, inputs=True) (audioparity.sources.torch_capture)")


@dataclass
class RecordedCall:
    """One component's call in the reference: inputs and outputs by index.

    ``inputs[k]`` is ``NAME:ink`` (a parameter index of ``forward``; indices the call filled
    with a non-tensor are absent); ``outputs[0]`` is ``NAME``, ``outputs[k]`` ``NAME:outk``.
    Complex tensors (stored as a trailing real/imag axis) come back complex; ``stored``
    gives each output's stored dtype (``bfloat16`` is read as float32 but judged as bf16).
    """

    name: str
    inputs: dict[int, np.ndarray] = field(default_factory=dict)
    outputs: dict[int, np.ndarray] = field(default_factory=dict)
    module_type: str | None = None
    stored: dict[int, str] = field(default_factory=dict)
    #: keyword values the trace implies (see :func:`implied_keywords`)
    implied: dict[str, object] = field(default_factory=dict)


def split_slot(name: str) -> tuple[str, str, int]:
    """``decoder:out1`` -> (``decoder``, ``out``, 1); ``decoder:in0`` -> (…, ``in``, 0);
    a plain output ``decoder`` -> (``decoder``, ``out``, 0)."""
    m = _SLOT.match(name)
    return (name, "out", 0) if m is None else (m["base"], m["kind"], int(m["index"]))


def slot_names(trace: Trace, name: str) -> tuple[dict[int, str], dict[int, str]]:
    """(input index -> trace name, output index -> trace name) recorded for ``name``."""
    inputs, outputs = _slot_index(trace).get(name, ({}, {}))
    return dict(inputs), dict(outputs)


def _slot_index(trace: Trace) -> dict[str, tuple[dict[int, str], dict[int, str]]]:
    """Every module's recorded slots, indexed once per trace (names are scanned once)."""
    cached = getattr(trace, "_isolate_slots", None)
    if cached is not None and cached[0] == len(trace):
        return cached[1]
    index: dict[str, tuple[dict[int, str], dict[int, str]]] = {}
    for tensor in trace.names:
        base, kind, k = split_slot(tensor)
        slots = index.setdefault(base, ({}, {}))
        (slots[0] if kind == "in" else slots[1])[k] = tensor
    trace._isolate_slots = (len(trace), index)  # type: ignore[attr-defined]
    return index


def read_tensor(trace: Trace, name: str) -> np.ndarray:
    """A tensor as the module saw it: a complex one (stored as a trailing real/imag axis:
    a complex dtype in the file, or named in the meta's ``complex`` list, as the captures
    write them) back to complex."""
    array = np.asarray(trace.read(name))
    info = trace.info(name)
    listed = trace.meta.get("complex") if isinstance(trace.meta, dict) else None
    if info.from_complex is not None or (isinstance(listed, list) and name in listed
                                         and array.shape[-1:] == (2,)):
        dtype = info.from_complex or ("complex128" if array.dtype == np.float64
                                      else "complex64")
        array = (array[..., 0] + 1j * array[..., 1]).astype(dtype)
    return array


def components_in(trace: Trace) -> list[str]:
    """Every module output the trace names (no ``:inK``/``:outK`` suffix), in its order."""
    return [n for n in trace.names if _SLOT.match(n) is None]


def check_component(trace: Trace, name: str, need_inputs: bool = True) -> None:
    """Raise :class:`InputError` when ``name`` is not a recorded module of ``trace``, or
    (``need_inputs``) when its inputs were not recorded."""
    inputs, outputs = slot_names(trace, name)
    if not outputs:
        known = components_in(trace)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        top = [n for n in known if "." not in split_name(n)[1]] or known
        hint = f"did you mean {', '.join(close)}?" if close else \
            f"it has {len(known)} module outputs, at the top {', '.join(top[:6])}"
        raise InputError(trace.path, f"no component '{name}' in this trace ({hint})")
    if need_inputs and not inputs:
        raise InputError(trace.path, f"records no inputs for '{name}' (no '{name}:in0' …): "
                                     f"{CAPTURE_HINT}")


def recorded_call(trace: Trace, name: str, modules: dict[str, str] | None = None,
                  ) -> RecordedCall:
    """The recorded inputs and outputs of component ``name`` (see :class:`RecordedCall`)."""
    check_component(trace, name)
    inputs, outputs = slot_names(trace, name)
    return RecordedCall(name, {k: read_tensor(trace, n) for k, n in sorted(inputs.items())},
                        {k: read_tensor(trace, n) for k, n in sorted(outputs.items())},
                        (modules or {}).get(split_name(name)[1]),
                        {k: trace.info(n).dtype for k, n in outputs.items()},
                        implied_keywords(trace, name))


def implied_keywords(trace: Trace, name: str) -> dict[str, object]:
    """Non-tensor arguments the trace still holds: transformers decoder layers and
    attention take ``position_embeddings=(cos, sin)``, a tuple the capture does not record,
    but the enclosing model's ``rotary_emb`` recorded both as its outputs."""
    step, path, _ = split_name(name)
    parts = path.split(".")
    for depth in range(len(parts) - 1, -1, -1):
        rotary = f"{step}{'.'.join([*parts[:depth], 'rotary_emb'])}"
        if rotary in trace and f"{rotary}:out1" in trace:
            return {"position_embeddings": (read_tensor(trace, rotary),
                                             read_tensor(trace, f"{rotary}:out1"))}
    return {}


def execution_order(trace: Trace, names: list[str]) -> list[str]:
    """``names`` sorted by when each component started in the reference: its first
    recorded input (a module's inputs are recorded when it is entered), else its output."""
    position = {n: i for i, n in enumerate(trace.names)}

    def start(name: str) -> int:
        inputs, outputs = slot_names(trace, name)
        return min(position[n] for n in [*inputs.values(), *outputs.values()])

    return sorted(names, key=start)


def default_components(trace: Trace) -> list[str]:
    """The top-level components the reference recorded with inputs (``encoder``,
    ``decoder`` …; a root's direct children), in execution order; in a generation loop's
    trace (``@k/`` steps), those of the first step (``@0/``)."""
    for wanted in ("", "@0/"):
        out = []
        for name in components_in(trace):
            step, path, suffix = split_name(name)
            if step != wanted or suffix or path == ROOT_NAME or "." in path:
                continue
            if slot_names(trace, name)[0]:
                out.append(name)
        if out:
            return execution_order(trace, out)
    return []
