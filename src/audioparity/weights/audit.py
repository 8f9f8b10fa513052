"""Audit a converted checkpoint against its reference, tensor by tensor.

For every reference tensor: which port tensor holds it (:mod:`.keymap`), in which layout
(:mod:`.layout`, decided by values), with what error against what the dtype or quantization
type should give, or whether it sits at its initial values (:mod:`.init_values`). Then a
file-level summary: prefix rules, the layout conventions in use (a minority in another
convention is a conversion that ran twice or not at all), weight-norm spellings, coverage.

GGUF ports (llama.cpp names are read through the built-in ``llama.cpp`` map rules when no
rules are given): Q/K projection rows are compared after undoing llama.cpp's RoPE row
permutation where the values show it (:mod:`.rope_rows`), and a row order other than the one
the file's architecture needs (the permutation missing, applied twice, applied to a
half-split-RoPE architecture) is a problem; the metadata that changes numerics is checked
against the reference's ``config.json`` (:mod:`.gguf_metadata`).

Only one tensor pair is in memory at a time; big tensors are compared in chunks.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from . import weight_norm as wn
from .checkpoint import Checkpoint
from .gguf_metadata import compare_metadata, head_dim_of, read_gguf_metadata
from .init_values import fan_in, init_signature
from .keymap import KeyMatching, Match, default_rules, match_keys
from .layout import describe, detect_layout, to_ref_layout, value_error
from .quant import UNIT_ROUNDOFF, expected_rel_error
from .rope_rows import detect_row_order, expected_order, qk_projection

#: Relative L2 error accepted between tensors of the same float dtype.
SAME_DTYPE_REL = 1e-6
#: Slack over the expected error of a dtype change or quantization type.
EXPECTED_SLACK = 1.5
#: Coverage below which the two files are probably different models.
MIN_COVERAGE = 0.5

STATUSES = ("ok", "mismatch", "init", "shape_mismatch", "nonfinite", "missing", "unexpected")


@dataclass
class TensorAudit:
    """The audit of one reference tensor (or packed group) and its port counterpart."""

    ref: list[str]
    port: list[str]
    how: str
    status: str
    component: str
    ref_shape: list[int] = field(default_factory=list)
    port_shape: list[int] = field(default_factory=list)
    ref_dtype: str | None = None
    port_dtype: str | None = None
    qtype: str | None = None
    perm: list[int] | None = None
    layout: str | None = None
    layout_note: str | None = None
    max_abs: float | None = None
    rel_l2: float | None = None
    expected_rel: float | None = None
    detail: str = ""
    port_module: str | None = None
    nonfinite: int = 0
    row_order: str | None = None
    head_dim: int | None = None


@dataclass
class AuditReport:
    """Everything :func:`audit_checkpoints` found; ``to_json()`` is the ``--json`` shape."""

    ref_path: str
    port_path: str
    entries: list[TensorAudit]
    prefix_rules: list[dict]
    layout_summary: dict
    problems: list[str]
    notes: list[str]
    coverage: float
    architecture: str | None = None
    config_path: str | None = None
    metadata: list[dict] = field(default_factory=list)
    row_summary: dict = field(default_factory=dict)

    @property
    def status(self) -> str:
        """``divergent`` when any problem was found, else ``parity``."""
        return "divergent" if self.problems else "parity"

    def by_component(self) -> dict[str, Counter]:
        """Per top-level component: counts per status plus renamed/relayout counts."""
        groups: dict[str, Counter] = defaultdict(Counter)
        for e in self.entries:
            c = groups[e.component]
            c["tensors"] += 1
            c[e.status] += 1
            if e.how not in ("exact",) and e.status not in ("missing", "unexpected"):
                c["renamed"] += 1
            if e.perm is not None and list(e.perm) != sorted(e.perm):
                c["relayout"] += 1
        return dict(groups)

    def worst_rel(self, component: str) -> float | None:
        vals = [e.rel_l2 for e in self.entries if e.component == component
                and e.rel_l2 is not None]
        return max(vals) if vals else None

    def to_json(self) -> dict:
        counts = Counter(e.status for e in self.entries)
        return {
            "status": self.status, "ref": self.ref_path, "port": self.port_path,
            "coverage": self.coverage, "counts": {s: counts.get(s, 0) for s in STATUSES},
            "problems": self.problems, "notes": self.notes,
            "prefix_rules": self.prefix_rules, "layout_summary": self.layout_summary,
            "architecture": self.architecture, "config": self.config_path,
            "metadata": self.metadata, "row_order": self.row_summary,
            "components": {k: dict(v, worst_rel_l2=self.worst_rel(k))
                           for k, v in self.by_component().items()},
            "entries": [asdict(e) for e in self.entries],
        }


def component_of(name: str) -> str:
    """Top-level component of a tensor name (``decoder`` for ``decoder.up.0.weight``)."""
    head = name.split(".", 1)[0]
    if head == "model" and "." in name:  # transformers: model.layers.N -> model.layers
        return ".".join(name.split(".")[:2])
    return head


def _tolerance(ref_dtype: str, port_dtype: str, qtype: str | None,
               ref_values: Callable[[], np.ndarray]) -> float:
    if qtype is not None:
        return EXPECTED_SLACK * expected_rel_error(qtype, ref_values())
    if port_dtype != ref_dtype and port_dtype in UNIT_ROUNDOFF:
        lossy = UNIT_ROUNDOFF.get(port_dtype, 0.0) > UNIT_ROUNDOFF.get(ref_dtype, 0.0)
        if lossy:
            return EXPECTED_SLACK * UNIT_ROUNDOFF[port_dtype]
    return SAME_DTYPE_REL


def _layout_note(lay) -> str | None:
    if lay.reshaped:
        return "no axis permutation fits; port is the reference reshaped"
    if lay.perm is None:
        return None
    if lay.ambiguous_by_shape:
        if lay.ambiguous_by_values:
            return f"ambiguous by shape ({lay.fitting} layouts fit) and by values"
        return f"ambiguous by shape ({lay.fitting} layouts fit), resolved by values"
    return None


class _Auditor:
    def __init__(self, ref: Checkpoint, port: Checkpoint, head_dim: int | None = None,
                 expected_rows: str = "reference"):
        self.ref, self.port = ref, port
        self.head_dim, self.expected_rows = head_dim, expected_rows

    def ref_array(self, m: Match) -> np.ndarray:
        """The reference side of a match, in the reference's own layout."""
        if m.how == "weight_norm_fused":
            g, v = (self.ref.read(n) for n in m.ref)
            if wn.split_name(m.ref[0])[1] == "v":
                g, v = v, g
            return wn.fuse(g, v)
        if m.how == "packed":
            return np.concatenate([np.asarray(self.ref.read(n)) for n in m.ref], axis=0)
        return self.ref.read(m.ref[0])

    def port_array(self, m: Match) -> np.ndarray:
        if m.how == "weight_norm_split":
            g, v = (self.port.read(n) for n in m.port)
            if wn.split_name(self.port_key(m.port[0]))[1] == "v":
                g, v = v, g
            return wn.fuse(g, v)
        if m.how == "split":
            return np.concatenate([np.asarray(self.port.read(n)) for n in m.port], axis=0)
        return self.port.read(m.port[0])

    def port_key(self, name: str) -> str:
        return self.matching.mapped.get(name, name)

    def audit_match(self, m: Match) -> TensorAudit:
        ref_info = self.ref.info(m.ref[0])
        port_info = self.port.info(m.port[0])
        entry = TensorAudit(
            ref=m.ref, port=m.port, how=m.how, status="ok", component=component_of(m.ref[0]),
            ref_dtype=ref_info.dtype, port_dtype=port_info.dtype, qtype=port_info.qtype,
            port_module=m.port[0].rpartition(".")[0] or None, detail=m.detail)
        r = self.ref_array(m)
        p = self.port_array(m)
        entry.ref_shape, entry.port_shape = list(r.shape), list(p.shape)
        if r.size != p.size:
            entry.status = "shape_mismatch"
            entry.detail = f"ref {tuple(r.shape)} vs port {tuple(p.shape)}"
            return entry
        if (self.head_dim and qk_projection(m.ref[0]) and r.shape == p.shape
                and m.how in ("exact", "map", "prefix")):
            p = self.rows_in_ref_order(entry, r, p)
        if not (ref_info.is_float or port_info.is_float):
            same = bool(np.array_equal(np.asarray(r).reshape(-1), np.asarray(p).reshape(-1)))
            entry.status = "ok" if same else "mismatch"
            entry.perm = list(range(r.ndim))
            entry.max_abs = 0.0 if same else float(
                np.max(np.abs(np.asarray(r, np.float64).reshape(-1) - np.asarray(p).reshape(-1))))
            return entry
        lay = detect_layout(r, p)
        entry.perm = list(lay.perm) if lay.perm is not None else None
        entry.layout = describe(lay.perm) if not lay.reshaped else "reshaped"
        entry.layout_note = _layout_note(lay)
        aligned = p.reshape(r.shape) if lay.reshaped or lay.perm is None else to_ref_layout(
            p, lay.perm)
        err = value_error(r, aligned)
        entry.max_abs, entry.rel_l2 = err.max_abs, err.rel_l2
        entry.nonfinite = err.port_nonfinite
        if err.port_nonfinite > err.ref_nonfinite:
            entry.status = "nonfinite"
            entry.detail = (f"port holds {err.port_nonfinite} NaN/Inf values"
                            + (f" (reference {err.ref_nonfinite})" if err.ref_nonfinite else
                               " (reference none)"))
            return entry
        entry.expected_rel = _tolerance(ref_info.dtype, port_info.dtype, port_info.qtype,
                                        lambda: np.asarray(r, dtype=np.float32))
        if m.how == "weight_norm_fused":
            entry.detail = (f"port holds the fused weight; g·v/‖v‖ of the reference "
                            f"{'matches' if err.rel_l2 <= entry.expected_rel else 'DIFFERS'} "
                            f"(rel err {err.rel_l2:.2g})")
        elif m.how == "weight_norm_split":
            entry.detail = (f"port holds g and v; their g·v/‖v‖ "
                            f"{'matches' if err.rel_l2 <= entry.expected_rel else 'DIFFERS from'}"
                            f" the reference's fused weight (rel err {err.rel_l2:.2g})")
        if err.rel_l2 > entry.expected_rel and self.same_fused_weight(m, entry):
            entry.detail = ("g and v differ individually but g·v/‖v‖ matches the reference "
                            "(weight norm is invariant to the scale of v)")
        elif err.rel_l2 > entry.expected_rel:
            entry.status = "mismatch"
            sig = self.init_signature(m, aligned)
            if sig and sig == self.init_signature(m, r):
                sig = None  # the reference looks the same way: no evidence of init
            if sig:
                entry.status = "init"
                entry.detail = f"at initial values: {sig}"
            elif lay.reshaped:
                entry.detail = "values differ (and no axis permutation fits the shapes)"
            else:
                entry.detail = (entry.detail + "; " if entry.detail else "") + (
                    f"values differ: rel err {err.rel_l2:.3g} "
                    f"(expected ≤ {entry.expected_rel:.2g})")
        return entry

    def rows_in_ref_order(self, entry: TensorAudit, r: np.ndarray,
                          p: np.ndarray) -> np.ndarray:
        """A Q/K projection's port rows in the reference's order (llama.cpp's RoPE row
        permutation, once, twice or inverted, undone where the values show it)."""
        order = detect_row_order(r, p, self.head_dim, prefer=self.expected_rows)
        if order is None:
            return p
        entry.row_order, entry.head_dim = order.name, self.head_dim
        if order.name == "reference":
            return p
        return order.undo(p)

    def port_partner(self, ref_name: str) -> tuple[str, str] | None:
        """For a weight-norm ref tensor: (ref name, port name) of its g or v partner."""
        parts = wn.split_name(ref_name)
        if parts is None:
            return None
        other = wn.spell(parts[0], "v" if parts[1] == "g" else "g", parts[2])
        want = f"{parts[0]}.weight_{'v' if parts[1] == 'g' else 'g'}"
        port = next((p for p, k in self.matching.mapped.items()
                     if wn.canonical_name(k) == want), None)
        return (other, port) if other in self.ref and port is not None else None

    def same_fused_weight(self, m: Match, entry: TensorAudit) -> bool:
        """True when a mismatching g or v still gives the reference's fused weight."""
        if m.how == "weight_norm_fused" or len(m.ref) != 1 or len(m.port) != 1:
            return False
        partner = self.port_partner(m.ref[0])
        if partner is None:
            return False
        parts = {wn.split_name(m.ref[0])[1]: (m.ref[0], m.port[0]),
                 wn.split_name(partner[0])[1]: partner}
        ref_v = self.ref.read(parts["v"][0])
        port_v = self.port.read(parts["v"][1])
        if ref_v.size != port_v.size:
            return False
        lay = detect_layout(ref_v / np.abs(ref_v).max(), port_v / np.abs(port_v).max())
        port_v = to_ref_layout(port_v, lay.perm) if lay.perm else port_v.reshape(ref_v.shape)
        ref_w = wn.fuse(self.ref.read(parts["g"][0]), ref_v)
        port_w = wn.fuse(np.asarray(self.port.read(parts["g"][1])).reshape(-1), port_v)
        return value_error(ref_w, port_w).rel_l2 <= max(entry.expected_rel, 1e-5)

    def init_signature(self, m: Match, aligned: np.ndarray) -> str | None:
        name = m.ref[0]
        module, _, leaf = name.rpartition(".")
        fi = None
        v = None
        parts = wn.split_name(name)
        if leaf == "bias" or (parts and parts[1] == "g"):
            weight = next((n for n in (f"{module}.weight", f"{module}.weight_v",
                                       f"{module}.parametrizations.weight.original1")
                           if n in self.ref), None)
            if parts and parts[1] == "g":
                weight = wn.spell(parts[0], "v", parts[2])
                port_v = next((p for p, k in self.matching.mapped.items()
                               if wn.canonical_name(k) == f"{parts[0]}.weight_v"), None)
                if port_v is not None:
                    lay = detect_layout(self.ref.read(weight), self.port.read(port_v))
                    v = to_ref_layout(self.port.read(port_v), lay.perm)
            if weight is not None and leaf == "bias":
                fi = fan_in(self.ref.info(weight).shape)
            elif leaf == "bias":
                return _constant_only(aligned)
        return init_signature(aligned, fi, v)


def _biases_of_init_modules(entries: list[TensorAudit], ref: Checkpoint,
                            port: Checkpoint) -> None:
    """A mismatching bias inside its init bound, in a module whose weight is at init, is at
    init too (a short bias alone is weak evidence, so it is judged with its module)."""
    init_weights = {e.ref[0].rpartition(".")[0]: e for e in entries
                    if e.status == "init" and e.ref[0].endswith(".weight")}
    for e in entries:
        module = e.ref[0].rpartition(".")[0]
        if e.status != "mismatch" or not e.ref[0].endswith(".bias") or module not in init_weights:
            continue
        bound = 1.0 / np.sqrt(max(fan_in(tuple(init_weights[module].ref_shape)), 1))
        if float(np.max(np.abs(port.read(e.port[0])))) <= bound * (1 + 1e-5):
            e.status = "init"
            e.detail = (f"at initial values: within ±1/sqrt(fan_in)=±{bound:.4g} and its "
                        "module's weight is at init (fresh reset_parameters())")


def _constant_only(x: np.ndarray) -> str | None:
    return init_signature(x, weight_fan_in=0)


def _layout_summary(entries: list[TensorAudit]) -> tuple[dict, list[str]]:
    """Count layouts of the conv-like (>= 3-D) tensors; name a minority convention."""
    conv = [e for e in entries if e.perm is not None and len(e.perm) >= 3
            and sum(d > 1 for d in e.ref_shape) >= 2 and e.status != "shape_mismatch"]
    counts = Counter("mlx" if e.perm != sorted(e.perm) else "pytorch" for e in conv)
    by_layout = Counter(e.layout for e in conv)
    summary = {"conv_tensors": len(conv), "mlx": counts.get("mlx", 0),
               "pytorch": counts.get("pytorch", 0), "by_layout": dict(by_layout),
               "convention": None, "inconsistent": []}
    problems = []
    if conv:
        convention = "mlx" if counts["mlx"] >= counts["pytorch"] else "pytorch"
        summary["convention"] = convention
        odd = [e for e in conv
               if ("mlx" if e.perm != sorted(e.perm) else "pytorch") != convention]
        summary["inconsistent"] = [e.port[0] for e in odd]
        label = "MLX" if convention == "mlx" else "PyTorch"
        for e in odd:
            e.layout_note = "; ".join(filter(None, [
                e.layout_note, f"breaks the file's {label} conv convention"]))
        if odd:
            names = ", ".join(e.port[0] for e in odd[:3]) + (" ..." if len(odd) > 3 else "")
            other = "[out,in,k] (PyTorch)" if convention == "mlx" else "[out,k,in] (MLX)"
            problems.append(
                f"mixed conv layouts: {counts['mlx']} tensors in [out,k,in] (MLX), "
                f"{counts['pytorch']} in [out,in,k] (PyTorch); the {len(odd)} in {other} "
                f"break the file's {convention.upper() if convention == 'mlx' else 'PyTorch'} "
                f"convention (transposed twice or not at all): {names}")
    return summary, problems


def _is_matrix(e: TensorAudit) -> bool:
    """A 2-D weight (linear, embedding) whose layout the values decided."""
    return (e.perm is not None and len(e.perm) == 2 and len(e.ref_shape) == 2
            and min(e.ref_shape) > 1 and e.status in ("ok", "mismatch")
            and "by values" not in (e.layout_note or "").replace("resolved by values", ""))


def _matrix_layout_summary(entries: list[TensorAudit], summary: dict) -> list[str]:
    """2-D weights: the file's majority layout (reference or transposed); a minority is a
    converter that transposed twice or not at all — on square ones only values tell."""
    mats = [e for e in entries if _is_matrix(e)]
    kind = {id(e): "transposed" if list(e.perm) == [1, 0] else "reference" for e in mats}
    counts = Counter(kind.values())
    summary.update({"matrix_tensors": len(mats), "matrix_reference": counts["reference"],
                    "matrix_transposed": counts["transposed"], "matrix_convention": None,
                    "matrix_inconsistent": []})
    if not mats or counts["reference"] == counts["transposed"]:
        return []
    convention = counts.most_common(1)[0][0]
    summary["matrix_convention"] = convention
    odd = [e for e in mats if kind[id(e)] != convention]
    if not odd:
        return []
    summary["matrix_inconsistent"] = [e.port[0] for e in odd]
    majority = ("the reference's [out,in]" if convention == "reference"
                else "[in,out] (transposed from the reference)")
    for e in odd:
        square = " (square: told by values)" if e.ref_shape[0] == e.ref_shape[1] else ""
        e.layout_note = "; ".join(filter(None, [
            e.layout_note, f"breaks the file's 2-D convention{square}"]))
    names = ", ".join(e.port[0] for e in odd[:3]) + (" ..." if len(odd) > 3 else "")
    squares = sum(e.ref_shape[0] == e.ref_shape[1] for e in odd)
    return [f"mixed 2-D (linear) layouts: {counts[convention]} weights keep {majority}, "
            f"{len(odd)} {'is' if len(odd) == 1 else 'are'} "
            f"{'transposed' if convention == 'reference' else 'in the reference layout'}"
            + (f" ({squares} square, told apart by values)" if squares else "")
            + f": {names} — a converter that transposed twice or not at all (the "
            "kernel_size=1 conv bug class); fix: transpose "
            + ("it" if len(odd) == 1 else "them")
            + " to match the rest ('audioparity weights fix --layout port')"]


_ROW_LABELS = {"reference": "in the reference's order", "permuted": "permuted once",
               "permuted_twice": "permuted twice", "inverse": "inverse-permuted"}


def _row_order_summary(entries: list[TensorAudit], expected: str,
                       architecture: str | None) -> tuple[dict, list[str], list[str]]:
    """Q/K projections: how many hold each row order; a minority or an order the
    architecture does not run is a problem, named with its fix."""
    qk = [e for e in entries if e.row_order is not None]
    counts = Counter(e.row_order for e in qk)
    summary = {"expected": expected, "checked": len(qk), "by_order": dict(counts),
               "inconsistent": [e.port[0] for e in qk if e.row_order != expected]}
    if not qk:
        return summary, [], []
    arch = f"'{architecture}'" if architecture else "this file's architecture"
    rope = ("interleaved (pairwise) RoPE and needs the permutation applied once"
            if expected == "permuted" else "half-split (NEOX) RoPE and takes the "
            "reference's rows as they are")
    notes, problems = [], []
    if counts.get("permuted") and expected == "permuted":
        notes.append(f"Q/K rows: {counts['permuted']} tensors in llama.cpp's RoPE row order "
                     "(LlamaModel.permute), undone before comparing")
    for e in qk:
        if e.row_order != expected:
            note = (f"Q/K rows {_ROW_LABELS[e.row_order]}: breaks {arch} row order "
                    f"({_ROW_LABELS[expected]})")
        elif e.row_order == "permuted":
            note = "Q/K rows in llama.cpp's RoPE order (LlamaModel.permute), undone"
        else:
            continue
        e.layout_note = "; ".join(filter(None, [e.layout_note, note]))
    for order, n in counts.items():
        if order == expected:
            continue
        odd = [e for e in qk if e.row_order == order]
        names = ", ".join(e.port[0] for e in odd[:3]) + (" ..." if len(odd) > 3 else "")
        what = {"reference": "in the reference's row order: llama.cpp's Q/K row permutation "
                             "(LlamaModel.permute) is missing",
                "permuted": "permuted by LlamaModel.permute, which this architecture does "
                            "not want",
                "permuted_twice": "permuted twice: llama.cpp's Q/K row permutation "
                                  "(LlamaModel.permute) was applied twice",
                "inverse": "inverse-permuted: LlamaModel.permute was undone on rows that "
                           "were never permuted"}[order]
        problems.append(
            f"Q/K rows: {n} of {len(qk)} q/k projections {what} ({names}); {arch} runs "
            f"{rope}; fix: 'audioparity weights fix REF PORT --out NEW.gguf' (or re-convert "
            "with convert_hf_to_gguf.py)")
    return summary, problems, notes


def audit_checkpoints(ref: Checkpoint, port: Checkpoint, rules=None,
                      progress: Callable[[], None] | None = None, config: dict | None = None,
                      config_path: str | None = None) -> AuditReport:
    """Audit ``port`` against ``ref``; see the module docstring.

    Parameters
    ----------
    ref, port : Checkpoint
        Opened checkpoints (:func:`~audioparity.weights.checkpoint.open_checkpoint`).
    rules : list, optional
        Map rules from :func:`~audioparity.weights.keymap.load_rules`; for a GGUF port with
        llama.cpp tensor names (``blk.N.attn_q.weight``) the built-in ``llama.cpp`` set is
        used when none are given.
    progress : callable, optional
        Called once per audited tensor (for a progress bar).
    config : dict, optional
        The reference's Hugging Face config (:func:`~.gguf_metadata.load_config`): a GGUF
        port's numerics-changing metadata is checked against it, and it gives the head size
        for the Q/K row order check (else the GGUF's metadata does).
    config_path : str, optional
        Where ``config`` came from (reported).
    """
    metadata = read_gguf_metadata(port.path) if port.format == "gguf" else {}
    architecture = metadata.get("general.architecture")
    auto_rules = default_rules(port.names) if rules is None and port.format == "gguf" else None
    if auto_rules is not None:
        rules = auto_rules
    expected_rows = expected_order(architecture) if metadata else "reference"
    auditor = _Auditor(ref, port, head_dim_of(config, metadata), expected_rows)
    matching: KeyMatching = match_keys(ref.infos(), port.infos(), ref.read, port.read, rules)
    auditor.matching = matching
    entries = []
    for m in matching.matches:
        entries.append(auditor.audit_match(m))
        if progress is not None:
            progress()
    _biases_of_init_modules(entries, ref, port)
    for name in matching.missing:
        info = ref.info(name)
        entries.append(TensorAudit([name], [], "none", "missing", component_of(name),
                                   ref_shape=list(info.shape), ref_dtype=info.dtype,
                                   detail="no counterpart in the port"))
    for name in matching.unexpected:
        info = port.info(name)
        mapped = matching.mapped.get(name, name)
        entries.append(TensorAudit([], [name], "none", "unexpected", component_of(mapped),
                                   port_shape=list(info.shape), port_dtype=info.dtype,
                                   qtype=info.qtype, port_module=name.rpartition(".")[0] or None,
                                   detail="no counterpart in the reference"))
    order = {n: i for i, n in enumerate(ref.names)}
    entries.sort(key=lambda e: order.get(e.ref[0], len(order)) if e.ref else len(order))
    report = _report(ref, port, matching, entries)
    report.architecture, report.config_path = architecture, config_path
    if auto_rules is not None:
        report.notes.insert(0, "llama.cpp tensor names read through the built-in "
                               "'llama.cpp' map rules")
    report.row_summary, row_problems, row_notes = _row_order_summary(
        entries, expected_rows, architecture)
    report.problems += row_problems
    report.notes += row_notes
    if metadata and config is not None:
        checks = compare_metadata(metadata, config)
        report.metadata = [c.to_json(port.path) for c in checks]
        for c in checks:
            if not c.ok:
                found = "absent" if c.gguf is None else _fmt_value(c.gguf)
                report.problems.append(
                    f"GGUF metadata {c.key} = {found}, reference config {c.config_key} = "
                    f"{_fmt_value(c.expected)} — {c.note}; fix: {c.fix(port.path)}")
        report.notes.append(f"GGUF metadata: {sum(c.ok for c in checks)} of {len(checks)} "
                            f"numerics-changing keys agree with {config_path or 'the config'}")
    elif metadata:
        report.notes.append("GGUF metadata not checked: no config.json beside the reference "
                            "(pass --config)")
    return report


def _fmt_value(value) -> str:
    return format(value, ".9g") if isinstance(value, float) else str(value)


def _report(ref: Checkpoint, port: Checkpoint, matching: KeyMatching,
            entries: list[TensorAudit]) -> AuditReport:
    problems, notes = [], []
    matched_ref = sum(len(e.ref) for e in entries if e.status not in ("missing",))
    coverage = matched_ref / max(len(ref), 1)
    if coverage < MIN_COVERAGE:
        problems.append(f"no counterpart for {100 * (1 - coverage):.0f}% of reference tensors "
                        "— are these the same model?")
    for rule in matching.prefix_rules:
        notes.append(f"{rule.describe()} (explains {rule.count} tensors)")
    layout_summary, layout_problems = _layout_summary(entries)
    problems += layout_problems
    problems += _matrix_layout_summary(entries, layout_summary)
    if layout_summary["conv_tensors"]:
        notes.append(f"conv weights: {layout_summary['mlx']} in [out,k,in] (MLX), "
                     f"{layout_summary['pytorch']} in [out,in,k] (PyTorch)")
    resolved = [e for e in entries if e.layout_note and "resolved" in e.layout_note]
    if resolved:
        notes.append(f"{len(resolved)} tensors ambiguous by shape, resolved by values")
    hows = Counter(e.how for e in entries)
    for how, text in (("weight_norm_spelling", ("weight norm spelled differently "
                       "(weight_g/weight_v vs parametrizations.weight.original0/1)")),
                      ("weight_norm_fused", "weight norm fused in the port (g·v/‖v‖ verified)"),
                      ("weight_norm_split", "weight norm split into g and v in the port"),
                      ("packed", "projections packed in the port"),
                      ("split", "projections split in the port"),
                      ("map", "renamed by map rules")):
        if hows.get(how):
            notes.append(f"{text}: {hows[how]} tensors")
    stored = Counter(e.qtype or f"{e.ref_dtype}->{e.port_dtype}" for e in entries
                     if e.ref_dtype and e.port_dtype and (e.qtype or e.ref_dtype != e.port_dtype))
    for kind, n in sorted(stored.items()):
        bad = sum(1 for e in entries if (e.qtype or f"{e.ref_dtype}->{e.port_dtype}") == kind
                  and e.status == "mismatch")
        notes.append(f"{n} tensors stored as {kind}: "
                     + (f"{bad} with more error than the type gives" if bad
                        else "errors within what the type gives"))
    by_status = defaultdict(list)
    for e in entries:
        by_status[e.status].append(e)
    if by_status["init"]:
        modules = Counter((e.port_module or "?").split(".")[0] for e in by_status["init"])
        where = ", ".join(f"{m} ({n})" for m, n in modules.most_common())
        problems.append(f"{len(by_status['init'])} tensors at initial values (not loaded?) "
                        f"in port modules: {where}")
    for status, text in (("nonfinite", "tensors hold NaN/Inf values the reference does not"),
                         ("mismatch", "values differ beyond what the dtype explains"),
                         ("shape_mismatch", "element counts differ"),
                         ("missing", "reference tensors with no port counterpart"),
                         ("unexpected", "port tensors with no reference counterpart")):
        if by_status[status] and not (status in ("missing", "unexpected") and coverage
                                      < MIN_COVERAGE):
            first = by_status[status][0]
            problems.append(f"{len(by_status[status])} {text} (first: "
                            f"{(first.ref or first.port)[0]})")
    return AuditReport(str(ref.path), str(port.path), entries,
                       [asdict(r) for r in matching.prefix_rules], layout_summary, problems,
                       notes, coverage)
