"""Plain result objects of a trace comparison and their SPEC JSON form."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .complex_metrics import ComplexMetrics
from .metrics import PairMetrics

_SURROGATE = re.compile("[\ud800-\udfff]")


def safe_text(text: str) -> str:
    """``text`` with lone surrogates (undecodable bytes of a tensor name, kept by Python's
    ``surrogateescape``) replaced by U+FFFD, so it can be written as UTF-8 JSON/HTML."""
    return _SURROGATE.sub("\ufffd", text) if isinstance(text, str) else text


def safe_json(obj: Any) -> Any:
    """A copy of a JSON-able structure with every string (and key) made :func:`safe_text`."""
    if isinstance(obj, str):
        return safe_text(obj)
    if isinstance(obj, dict):
        return {safe_text(str(k)): safe_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [safe_json(v) for v in obj]
    return obj


@dataclass
class PairResult:
    """One aligned pair. ``status``: ``ok``, ``FAIL``, ``shape`` (shapes differ) or ``nonfinite``."""

    name: str
    ref_name: str
    port_name: str
    shape: tuple[int, ...]
    port_shape: tuple[int, ...]
    ref_dtype: str
    port_dtype: str
    method: str
    status: str
    rtol: float
    atol: float
    tolerance_source: str
    metrics: PairMetrics | None = None
    convention: str | None = None  # how the port tensor was read (``channels_last`` …)
    #: why the reading is remarkable (a tensor stored unlike the port's majority convention)
    convention_note: str | None = None
    #: magnitude/phase errors of a pair recorded complex (stored as its real ``[..., 2]`` view)
    complex: ComplexMetrics | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def _metric(self, key: str) -> float | None:
        return None if self.metrics is None else getattr(self.metrics, key)

    @property
    def max_abs(self) -> float | None:
        return self._metric("max_abs")

    @property
    def rel_l2(self) -> float | None:
        return self._metric("rel_l2")

    @property
    def cosine(self) -> float | None:
        return self._metric("cosine")

    @property
    def snr_db(self) -> float | None:
        return self._metric("snr_db")

    @property
    def detail(self) -> str:
        if self.status == "shape":
            return f"shape {self.shape} vs {self.port_shape}"
        read = f" [port {self.port_shape} read {self.convention}]" if self.convention else ""
        if self.status == "nonfinite" and self.metrics is not None:
            m = self.metrics
            return (f"non-finite values: ref {m.ref_nan} NaN/{m.ref_inf} Inf, "
                    f"port {m.port_nan} NaN/{m.port_inf} Inf{read}")
        if self.metrics is None:
            return ""
        limit = self.atol + self.rtol * self.metrics.ref_absmax
        verdict = "<=" if self.ok else ">"
        return (f"max |diff| {self.metrics.max_abs:.3g} {verdict} {limit:.3g} "
                f"(atol {self.atol:g} + rtol {self.rtol:g} x max|ref| "
                f"{self.metrics.ref_absmax:.3g}; {self.tolerance_source}){read}")

    def to_json(self) -> dict[str, Any]:
        m = self.metrics
        return {
            "name": self.name, "ref_name": self.ref_name, "port_name": self.port_name,
            "shape": list(self.shape), "port_shape": list(self.port_shape),
            "ref_dtype": self.ref_dtype, "port_dtype": self.port_dtype,
            "max_abs": self.max_abs, "mean_abs": None if m is None else m.mean_abs,
            "rel_l2": self.rel_l2, "cosine": self.cosine, "snr_db": self.snr_db,
            "nan": None if m is None else {"ref": m.ref_nan, "port": m.port_nan},
            "inf": None if m is None else {"ref": m.ref_inf, "port": m.port_inf},
            "ok": self.ok, "status": self.status, "aligned_by": self.method,
            "convention": self.convention, "convention_note": self.convention_note,
            "rtol": self.rtol, "atol": self.atol, "detail": self.detail,
        } | ({} if self.complex is None
             else {"complex": self.complex.to_json(with_reading=not self.ok)})


@dataclass
class FirstDivergence:
    """The first failing pair in the reference's execution order, with what surrounds it."""

    entry: PairResult
    index: int
    last_good: str | None
    next_name: str | None
    causes: list[Any] = field(default_factory=list)  # explain.Finding objects, best first

    @property
    def name(self) -> str:
        return self.entry.name

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.entry.name, "ref_name": self.entry.ref_name,
            "port_name": self.entry.port_name, "index": self.index,
            "detail": self.entry.detail, "last_good": self.last_good, "next": self.next_name,
            "causes": [c.to_json() for c in self.causes],
        }


@dataclass
class CompareResult:
    ref_path: str
    port_path: str
    entries: list[PairResult]
    first_divergence: FirstDivergence | None
    unmatched_ref: list[str]
    unmatched_port: list[str]
    explained: dict[str, list[Any]] = field(default_factory=dict)  # --explain all
    incomplete: Any = None  # completeness.Incomplete when the port's trace ends early
    conventions: list[str] = field(default_factory=list)  # "port stores … : N tensors"
    notes: list[str] = field(default_factory=list)  # alignment/convention remarks
    generation: Any = None  # generation.GenerationComparison of generation traces

    @property
    def status(self) -> str:
        """``divergent`` (a pair fails, or the generation diverges), else ``incomplete``
        (the port's trace ends before the reference's outputs, or a sampled generation ran
        without the reference's draws), else ``parity``."""
        gen = self.generation.status if self.generation is not None else "parity"
        if self.first_divergence is not None or gen == "divergent":
            return "divergent"
        return "incomplete" if self.incomplete is not None or gen != "parity" else "parity"

    @property
    def headline(self) -> str:
        """The report's first line (the generation's verdict first, when there is one)."""
        if self.generation is None:
            return self._tensor_headline
        if not self.entries:
            return self.generation.headline()
        return f"{self.generation.headline()}; tensors: {self._tensor_headline}"

    @property
    def _tensor_headline(self) -> str:
        n = len(self.entries)
        if self.first_divergence is not None:
            head = f"divergent: first divergence at {self.first_divergence.name}"
            if self.incomplete is not None:
                head += f"; incomplete: {self.incomplete.line()}"
            return head
        if self.incomplete is not None:
            return f"incomplete: {self.incomplete.line()}; {n} aligned pairs within tolerance"
        return f"parity: all {n} aligned pairs within tolerance"

    @property
    def failing(self) -> list[PairResult]:
        return [e for e in self.entries if not e.ok]

    def to_json(self) -> dict[str, Any]:
        aligned_by: dict[str, int] = {}
        for e in self.entries:
            aligned_by[e.method] = aligned_by.get(e.method, 0) + 1
        out = {
            "status": self.status,
            "headline": self.headline,
            "incomplete": None if self.incomplete is None else self.incomplete.to_json(),
            "conventions": self.conventions,
            "notes": self.notes,
            "ref": self.ref_path,
            "port": self.port_path,
            "summary": {"pairs": len(self.entries), "failing": len(self.failing),
                        "aligned_by": aligned_by, "unmatched_ref": len(self.unmatched_ref),
                        "unmatched_port": len(self.unmatched_port)},
            "entries": [e.to_json() for e in self.entries],
            "first_divergence": None if self.first_divergence is None
            else self.first_divergence.to_json(),
            "unmatched_ref": self.unmatched_ref,
            "unmatched_port": self.unmatched_port,
        }
        if self.generation is not None:
            out["generation"] = self.generation.to_json()
        if self.explained:
            out["explained"] = {k: [c.to_json() for c in v] for k, v in self.explained.items()}
        return safe_json(out)
