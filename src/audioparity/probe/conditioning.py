"""Conditioning probe: does each layer depend on the condition (prompt, speaker embedding,
``mu``, the text embedding a DiT cross-attends to) as much in the port as in the reference?

Each implementation runs under two conditionings, A and B, and every tensor gets its
:func:`~audioparity.probe.dependence.dependence` (normalised A−B difference). The port's
tensors are paired with the reference's by compare's alignment (names, map rules, structure,
order and values). Where the reference still depends on the condition and the port no
longer does, the port dropped it: the first such tensor is named. (A port tensor that is
*constant* is compare's ``dropped`` cause; this finds a live tensor that ignores its
condition: cross-attention fed zeros, a speaker embedding never added, a prompt not
encoded.)

With one implementation only, the check is the one a porter does first: different
conditions must give different outputs.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x, ca, cb = rng.normal(size=8), rng.normal(size=8), rng.normal(size=8)
>>> run = lambda c, use: {"embed": x, "mix": x + (c if use else 0 * c), "out": 2 * x + c}
>>> probe = probe_conditioning((run(ca, True), run(cb, True)), (run(ca, False), run(cb, False)))
>>> probe.status, probe.first_lost.name
('problem', 'mix')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..compare.align import align
from ..compare.fingerprint import Fingerprints
from ..compare.mapping import MapRules, load_rules
from ..errors import InputError
from ..trace import Trace
from .dependence import LIVE, dependence, judge
from .memory_trace import TraceLike, as_trace

#: verdicts of one tensor that make the probe a problem
PROBLEMS = ("lost", "appears")


@dataclass
class TensorDependence:
    """One tensor under the two conditions.

    ``ref``/``port``: dependence (None where that side has no such tensor or its shape
    changes with the condition); ``verdict``: see :func:`~audioparity.probe.dependence.judge`
    (one implementation alone: ``depends``, ``independent`` or ``shape``).
    """

    name: str
    port_name: str | None
    shape: tuple[int, ...]
    ref: float | None
    port: float | None
    verdict: str
    aligned_by: str | None = None

    def to_json(self) -> dict:
        return {"name": self.name, "port_name": self.port_name, "shape": list(self.shape),
                "ref_dependence": self.ref, "port_dependence": self.port,
                "verdict": self.verdict, "aligned_by": self.aligned_by}


@dataclass
class ConditioningProbe:
    """Per-tensor dependences, in the reference's execution order, and what they mean."""

    tensors: list[TensorDependence]
    compared: bool
    """True when a reference and a port were probed (False: one implementation)."""
    notes: list[str] = field(default_factory=list)

    @property
    def first_lost(self) -> TensorDependence | None:
        """The first tensor where the reference depends on the condition and the port does
        not (or the port depends where the reference does not)."""
        return next((t for t in self.tensors if t.verdict in PROBLEMS), None)

    @property
    def last_kept(self) -> TensorDependence | None:
        """The last tensor before :attr:`first_lost` where the port still depends."""
        lost = self.first_lost
        before = self.tensors[: self.tensors.index(lost)] if lost else self.tensors
        return next((t for t in reversed(before) if t.verdict in ("kept", "weak")), None)

    @property
    def component(self) -> str | None:
        """The innermost probed module enclosing :attr:`first_lost` (``...attn2`` for
        ``...attn2.to_k``); the tensor itself when none encloses it."""
        lost = self.first_lost
        if lost is None:
            return None
        names = {t.name for t in self.tensors}
        parts = lost.name.split(".")
        for end in range(len(parts) - 1, 0, -1):
            if ".".join(parts[:end]) in names:
                return ".".join(parts[:end])
        return lost.name

    @property
    def enters(self) -> TensorDependence | None:
        """The first tensor that depends on the condition (reference side when compared)."""
        return next((t for t in self.tensors
                     if (t.ref if self.compared else t.port) is not None
                     and (t.ref if self.compared else t.port) >= LIVE), None)

    @property
    def output(self) -> TensorDependence | None:
        """The last tensor probed (the implementation's output)."""
        return self.tensors[-1] if self.tensors else None

    @property
    def ignored(self) -> bool:
        """One implementation: its output is the same under both conditions."""
        out = self.output
        value = out.port if out and out.port is not None else (out.ref if out else None)
        return value is not None and value < LIVE

    @property
    def status(self) -> str:
        """``ok`` or ``problem`` (the condition is lost somewhere, or ignored altogether)."""
        if self.compared:
            return "problem" if self.first_lost else "ok"
        return "problem" if self.ignored else "ok"

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.tensors:
            out[t.verdict] = out.get(t.verdict, 0) + 1
        return out

    def summary(self) -> str:
        """One line: what was found."""
        lost = self.first_lost
        if self.compared and lost is not None:
            verb = ("depends on the condition in the reference but not in the port"
                    if lost.verdict == "lost" else
                    "depends on the condition in the port but not in the reference")
            kept = self.last_kept
            where = f"; the condition still reaches the port's {kept.name}" if kept else ""
            inside = f" (in {self.component})" if self.component != lost.name else ""
            return (f"{lost.name}{inside} {verb}: ref {lost.ref:.3g}, port {lost.port:.3g}"
                    f"{where}")
        if self.compared:
            return (f"the port depends on the condition wherever the reference does "
                    f"({len(self.tensors)} tensors)")
        out = self.output
        if out is None:
            return "no tensor to probe"
        value = out.port if out.port is not None else out.ref
        if value is None:
            return f"{out.name}: its shape changes with the condition"
        if self.ignored:
            return (f"{out.name} is the same under both conditions (dependence {value:.3g}): "
                    "the condition is ignored")
        enters = self.enters
        where = f"; the condition enters at {enters.name}" if enters else ""
        return f"{out.name} differs between the conditions (dependence {value:.3g}){where}"

    def to_json(self) -> dict:
        lost, kept = self.first_lost, self.last_kept
        return {"status": self.status, "compared": self.compared, "summary": self.summary(),
                "first_lost": None if lost is None else lost.to_json(),
                "component": self.component,
                "enters": None if self.enters is None else self.enters.name,
                "last_kept": None if kept is None else kept.name,
                "counts": self.counts(), "notes": self.notes,
                "tensors": [t.to_json() for t in self.tensors]}


def _pair_dependence(a: Trace, b: Trace, name: str) -> float | None:
    """Dependence of ``name`` between traces ``a`` and ``b``; None when B lacks it or its
    shape changed with the condition."""
    if name not in b or a.info(name).shape != b.info(name).shape:
        return None
    try:
        return dependence(a.read(name), b.read(name))
    finally:
        a.release(name)
        b.release(name)


def _opened(pair: tuple[TraceLike, TraceLike], side: str) -> tuple[Trace, Trace]:
    a, b = as_trace(pair[0], f"<{side} A>"), as_trace(pair[1], f"<{side} B>")
    if not set(a.names) & set(b.names):
        raise InputError(b.path, f"shares no tensor name with {a.path}: the two runs must "
                                 "be the same implementation under two conditions")
    return a, b


def _numeric_names(trace: Trace) -> list[str]:
    return [i.name for i in trace.infos() if i.is_float or i.dtype.startswith(("int", "uint"))]


def _single(a: Trace, b: Trace) -> ConditioningProbe:
    tensors = []
    for name in _numeric_names(a):
        d = _pair_dependence(a, b, name)
        verdict = "shape" if d is None else "depends" if d >= LIVE else "independent"
        tensors.append(TensorDependence(name, name, a.info(name).shape, d, d, verdict))
    return ConditioningProbe(tensors, compared=False)


def probe_conditioning(ref: tuple[TraceLike, TraceLike] | None,
                       port: tuple[TraceLike, TraceLike] | None = None,
                       rules: str | Path | MapRules | None = None) -> ConditioningProbe:
    """Probe how each tensor depends on the conditioning.

    Parameters
    ----------
    ref, port : ``(trace under A, trace under B)`` per implementation; each a path, an open
        trace, ``{name: array}`` in execution order (what a callable returned) or one array.
        Give both to find where the port loses the condition; one alone to check that its
        output depends on the condition at all.
    rules : map rules (or a map file) pairing port names with the reference's, as compare.

    Raises
    ------
    InputError : unreadable traces, A and B sharing no name, reference and port sharing
        no tensor, or a reference that is the same under A and B.
    """
    if ref is None and port is None:
        raise InputError(None, "give the runs of at least one implementation under two "
                               "conditions")
    if ref is None or port is None:
        return _single(*_opened(ref or port, "ref" if ref else "port"))
    ref_a, ref_b = _opened(ref, "ref")
    port_a, port_b = _opened(port, "port")
    if isinstance(rules, (str, Path)):
        rules = load_rules(rules)
    alignment = align(ref_a.infos(), port_a.infos(), rules,
                      fingerprints=Fingerprints(ref_a.read, port_a.read),
                      ref_modules=ref_a.modules, port_modules=port_a.modules)
    if not alignment.pairs:
        raise InputError(port_a.path, f"no tensor in common with {ref_a.path}: are these the "
                                      "same model?")
    tensors = []
    for pair in alignment.pairs:
        r = _pair_dependence(ref_a, ref_b, pair.ref)
        p = _pair_dependence(port_a, port_b, pair.port)
        tensors.append(TensorDependence(pair.ref, pair.port, ref_a.info(pair.ref).shape, r, p,
                                        judge(r, p), pair.method))
    if not any(t.ref is None or t.ref >= LIVE for t in tensors):
        raise InputError(ref_b.path, f"the reference is the same as under {ref_a.path} in "
                                     "every tensor: nothing to probe (are A and B the same "
                                     "condition?)")
    notes = []
    if alignment.unmatched_ref:
        notes.append(f"{len(alignment.unmatched_ref)} reference tensors have no port "
                     "counterpart (not probed)")
    return ConditioningProbe(tensors, compared=True, notes=notes)
