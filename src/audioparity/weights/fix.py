"""Write a corrected copy of a port checkpoint, guided by its audit.

What it changes, tensor by tensor, and logs: names mapped to the reference's (prefix rules,
map rules, weight-norm spellings), layouts undone (``layout="ref"``) or made consistent with
the convention most port tensors already use (``layout="port"``, e.g. the one PyTorch-layout
Conv1d of an otherwise MLX file, or the one transposed linear of a file that keeps [out,in]), packed/split projections laid out as the reference has
them, and weight norm written as the port's loader expects (``weight_norm``: ``ref`` — as the
reference spells it; ``fused`` — one ``weight``; ``weight_g`` / ``parametrizations`` — g and v
in that spelling). Dtypes stay the port's (quantized GGUF tensors are written dequantized
as float32). What cannot be fixed from the port file (missing tensors, tensors at init or
with other values) is written as found and logged.

A GGUF port can instead be fixed into a GGUF file (:func:`fix_gguf`): the llama.cpp names,
tensor types and bytes stay, the metadata that disagrees with the reference config gets the
config's value, and Q/K rows in the wrong order for the file's architecture are moved into
the order it needs (:mod:`.rope_rows`).

The input is never modified; the output is written atomically, tensor by tensor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError, UsageError
from ..trace import TraceWriter
from . import weight_norm as wn
from .audit import AuditReport, TensorAudit
from .checkpoint import Checkpoint
from .gguf_rewrite import rewrite_gguf
from .layout import to_ref_layout
from .rope_rows import reorder_index, rows_in_reference_order

LAYOUTS = ("ref", "port")
WEIGHT_NORM_MODES = ("ref", "fused", "weight_g", "parametrizations")
_MLX_PERM = {3: (0, 2, 1), 4: (0, 2, 3, 1)}


@dataclass
class FixLog:
    """Every change made (``changes``: one record per written tensor group)."""

    out: str
    changes: list[dict] = field(default_factory=list)
    not_fixed: list[dict] = field(default_factory=list)
    #: tensors written, where not every one has a change record (a GGUF copy)
    tensors_written: int | None = None

    def to_json(self) -> dict:
        changed = [c for c in self.changes if c["actions"]]
        written = self.tensors_written if self.tensors_written is not None else sum(
            len(c["out"]) for c in self.changes)
        return {"status": "problem" if self.not_fixed else "ok", "out": self.out,
                "written": written,
                "changed": len(changed), "not_fixed": self.not_fixed, "changes": self.changes}


class _WeightNormModule:
    """g/v/fused values (reference layout) gathered for one reference module."""

    def __init__(self, module: str, ref_spelling: str, perm: list[int] | None):
        self.module, self.ref_spelling, self.perm = module, ref_spelling, perm
        self.g = self.v = self.fused = None
        self.sources: list[str] = []
        self.actions: list[str] = []
        self.dtype = "float32"


def _port_dtype(entry: TensorAudit) -> str | None:
    return None if entry.qtype or entry.port_dtype in (None, "float64") else entry.port_dtype


def _aligned(port: Checkpoint, entry: TensorAudit) -> np.ndarray:
    arr = port.read(entry.port[0])
    if entry.row_order not in (None, "reference"):
        arr = rows_in_reference_order(arr, entry.head_dim, entry.row_order)
    if entry.perm is None:
        return np.asarray(arr).reshape(entry.ref_shape)
    return to_ref_layout(arr, tuple(entry.perm))


def _target_perm(entry_perm: list[int] | None, ndim: int, layout: str,
                 convention: dict, shape: tuple[int, ...] = ()) -> tuple[int, ...] | None:
    """``convention``: the port file's majority layouts, ``{"conv": "mlx"|"pytorch"|None,
    "matrix": "reference"|"transposed"|None}`` (from the audit's layout summary)."""
    identity = tuple(range(ndim))
    if layout == "ref" or entry_perm is None:
        return identity
    if ndim == 2 and min(shape, default=1) > 1 and convention.get("matrix") is not None:
        return (1, 0) if convention["matrix"] == "transposed" else identity
    conv = convention.get("conv")
    if ndim >= 3 and conv == "mlx":
        return tuple(entry_perm) if tuple(entry_perm) != identity else _MLX_PERM.get(ndim,
                                                                                   identity)
    if ndim >= 3 and conv == "pytorch":
        return identity
    return tuple(entry_perm)


def _layout_action(perm: tuple[int, ...] | None, entry_perm: list[int] | None) -> str | None:
    if entry_perm is None or perm is None or tuple(entry_perm) == perm:
        return None
    return f"layout {tuple(entry_perm)} -> {perm}"


def fix_checkpoint(ref: Checkpoint, port: Checkpoint, report: AuditReport, out: str | Path,
                   layout: str = "ref", weight_norm: str = "ref", force: bool = False,
                   progress=None) -> FixLog:
    """Write the corrected copy of ``port`` to ``out`` (safetensors); see the module docstring.

    Raises
    ------
    InputError
        ``out`` exists and ``force`` is false, or ``out`` is one of the inputs.
    """
    if layout not in LAYOUTS:
        raise UsageError(f"--layout {layout!r}: expected one of {', '.join(LAYOUTS)}")
    if weight_norm not in WEIGHT_NORM_MODES:
        raise UsageError(f"--weight-norm {weight_norm!r}: expected one of "
                         f"{', '.join(WEIGHT_NORM_MODES)}")
    out = Path(out)
    _check_out(ref, port, out, force)
    convention = {"conv": report.layout_summary.get("convention"),
                  "matrix": report.layout_summary.get("matrix_convention")}
    log = FixLog(str(out))
    wn_modules: dict[str, _WeightNormModule] = {}
    with TraceWriter(out, {"fixed_from": str(port.path), "reference": str(ref.path)}) as writer:
        for entry in report.entries:
            if entry.status == "missing":
                log.not_fixed.append({"ref": entry.ref, "reason": "no counterpart in the port"})
            elif entry.status in ("init", "mismatch", "shape_mismatch", "nonfinite"):
                log.not_fixed.append({"ref": entry.ref, "port": entry.port,
                                      "reason": entry.detail or entry.status})
            if entry.status == "missing":
                continue
            if entry.status in ("unexpected", "shape_mismatch"):
                for name in entry.port:
                    _write(writer, name, port.read(name), port.info(name).dtype, log, [name],
                           ["kept as is: " + ("no reference counterpart"
                                              if entry.status == "unexpected"
                                              else "element counts differ")])
                continue
            if _is_weight_norm(entry):
                _gather_weight_norm(port, entry, wn_modules)
            else:
                _write_plain(writer, ref, port, entry, layout, convention, log)
            if progress is not None:
                progress()
        for mod in wn_modules.values():
            _write_weight_norm(writer, mod, weight_norm, layout, convention, log)
    return log


def _check_out(ref: Checkpoint, port: Checkpoint, out: Path, force: bool) -> None:
    inputs = {Path(p).resolve() for p in (ref.path, port.path)}
    if out.resolve() in inputs:
        raise InputError(out, "refusing to write over an input file (fix never works in place)")
    if out.exists() and not force:
        raise InputError(out, "exists; pass --force to overwrite it")


def fix_gguf(ref: Checkpoint, port: Checkpoint, report: AuditReport, out: str | Path,
             force: bool = False) -> FixLog:
    """Write a corrected GGUF copy of a GGUF ``port``: metadata set to the reference
    config's values and Q/K rows put in the order the architecture needs; every other
    tensor byte for byte. What a GGUF copy cannot fix is listed in ``not_fixed``.

    Raises
    ------
    InputError
        ``port`` is not a GGUF file, ``out`` exists and ``force`` is false, or ``out`` is
        one of the inputs.
    """
    out = Path(out)
    if port.format != "gguf":
        raise UsageError(f"--out {out}: a GGUF output needs a GGUF port ({port.path} is "
                         f"{port.format}); write .safetensors instead")
    _check_out(ref, port, out, force)
    log = FixLog(str(out), tensors_written=len(port))
    metadata = {}
    for m in report.metadata:
        if not m["ok"]:
            key, value = m["key"], m["expected"]
            metadata[key] = (value, m["value_type"])
            log.changes.append({"out": [key], "from": [key],
                                "actions": [f"metadata {key}: {m['gguf']} -> {value}"]})
    want = report.row_summary.get("expected", "reference")
    rows = {}
    for e in report.entries:
        if e.row_order is not None and e.row_order != want:
            rows[e.port[0]] = reorder_index(e.port_shape[0], e.head_dim, e.row_order, want)
            log.changes.append({"out": e.port, "from": e.port, "actions": [
                f"Q/K rows {e.row_order} -> {want} (head_dim {e.head_dim})"]})
        elif e.status not in ("ok", "unexpected"):
            log.not_fixed.append({"ref": e.ref, "port": e.port,
                                  "reason": e.detail or e.status})
        elif e.perm is not None and list(e.perm) != sorted(e.perm):
            log.not_fixed.append({"ref": e.ref, "port": e.port, "reason": (
                f"layout {e.layout}: a GGUF copy keeps tensor shapes; write .safetensors "
                "to undo it")})
    rewrite_gguf(port.path, out, metadata, rows)
    return log


def _write(writer: TraceWriter, name: str, arr: np.ndarray, dtype: str | None, log: FixLog,
           sources: list[str], actions: list[str]) -> None:
    if name in writer:
        raise InputError(None, f"two port tensors map to '{name}'; fix the map rules")
    writer.add(name, np.ascontiguousarray(arr), dtype=dtype if dtype in (
        "bfloat16", "float16", "float32") else None)
    log.changes.append({"out": [name], "from": sources, "actions": actions})


def _write_plain(writer: TraceWriter, ref: Checkpoint, port: Checkpoint, entry: TensorAudit,
                 layout: str,
                 convention: dict, log: FixLog) -> None:
    actions = []
    if entry.how in ("prefix", "map"):
        actions.append(f"renamed {entry.port[0]} -> {entry.ref[0]}")
    if entry.qtype:
        actions.append(f"dequantized {entry.qtype} -> float32")
    dtype = _port_dtype(entry)
    if entry.how == "packed":
        whole = _aligned(port, entry)
        start = 0
        for name in entry.ref:
            size = ref.info(name).shape[0]
            part = whole[start:start + size]
            start += size
            perm = _target_perm(entry.perm, part.ndim, layout, convention, part.shape)
            _write(writer, name, np.transpose(part, perm), dtype, log, entry.port,
                   [f"split rows {start - size}:{start} of packed {entry.port[0]}"])
        return
    if entry.how == "split":
        parts = [np.asarray(port.read(n)) for n in entry.port]
        arr = np.concatenate(parts, axis=0)
        actions.append(f"concatenated {', '.join(entry.port)}")
        if entry.perm is not None:
            arr = to_ref_layout(arr, tuple(entry.perm))
    else:
        arr = _aligned(port, entry)
    perm = _target_perm(entry.perm, arr.ndim, layout, convention, arr.shape)
    act = _layout_action(perm, entry.perm)
    if act:
        actions.append(act)
    _write(writer, entry.ref[0], np.transpose(arr, perm), dtype, log, entry.port, actions)


def _is_weight_norm(entry: TensorAudit) -> bool:
    return entry.how in ("weight_norm_fused", "weight_norm_split") or (
        len(entry.ref) == 1 and wn.split_name(entry.ref[0]) is not None)


def _gather_weight_norm(port: Checkpoint, entry: TensorAudit,
                        modules: dict[str, _WeightNormModule]) -> None:
    if entry.how == "weight_norm_split":
        module = entry.ref[0].rpartition(".")[0]
        mod = modules.setdefault(module, _WeightNormModule(module, "fused", entry.perm))
        parts = {wn.split_name(n)[1]: n for n in entry.port}
        v = np.asarray(port.read(parts["v"]), dtype=np.float32)
        v = to_ref_layout(v, tuple(entry.perm)) if entry.perm else v.reshape(entry.ref_shape)
        g = np.asarray(port.read(parts["g"]), dtype=np.float32).reshape(
            (v.shape[0],) + (1,) * (v.ndim - 1))
        mod.g, mod.v = g, v
    else:
        first = wn.split_name(entry.ref[0])
        module, spelling = first[0], first[2]
        mod = modules.setdefault(module, _WeightNormModule(module, spelling, entry.perm))
        if entry.how == "weight_norm_fused":
            mod.fused = np.asarray(_aligned(port, entry), dtype=np.float32)
        else:
            value = np.asarray(_aligned(port, entry), dtype=np.float32)
            setattr(mod, first[1], value)
            if first[1] == "v":
                mod.perm = entry.perm
    if entry.how in ("prefix", "map", "weight_norm_spelling", "weight_norm_fused",
                     "weight_norm_split"):
        mod.actions.append(f"{entry.how.replace('_', ' ')}: {', '.join(entry.port)}")
    mod.sources += entry.port
    mod.dtype = _port_dtype(entry) or "float32"


def _write_weight_norm(writer: TraceWriter, mod: _WeightNormModule, mode: str, layout: str,
                       convention: dict, log: FixLog) -> None:
    want = mod.ref_spelling if mode == "ref" else mode
    actions = list(mod.actions)
    if want == "fused":
        if mod.fused is None:
            mod.fused = wn.fuse(mod.g, mod.v)
            actions.append("fused g·v/‖v‖")
        outputs = {f"{mod.module}.weight": mod.fused}
    else:
        if mod.g is None or mod.v is None:
            if mod.fused is None:
                return
            mod.g, mod.v = wn.unfuse(mod.fused)
            actions.append("unfused into g = ‖w‖ per output channel, v = w")
        outputs = {wn.spell(mod.module, "g", want): mod.g, wn.spell(mod.module, "v", want): mod.v}
    for name, arr in outputs.items():
        perm = _target_perm(mod.perm, arr.ndim, layout, convention, arr.shape)
        act = _layout_action(perm, mod.perm) if arr.ndim >= 3 and name.endswith(
            ("v", "weight", "original1")) else None
        _write(writer, name, np.transpose(arr, perm), mod.dtype, log, mod.sources,
               actions + ([act] if act else []))
