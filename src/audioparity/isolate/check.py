"""Judge one component's outputs against the reference's: the same metrics and dtype-aware
tolerances as ``compare`` (max |diff| <= atol + rtol x max|ref|, per output)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..compare.metrics import PairMetrics, pair_metrics
from ..compare.tolerance import Tol, default_tolerance


@dataclass
class OutputCheck:
    """One output (``index`` 0 = ``NAME``, k = ``NAME:outk``) of a component."""

    index: int
    status: str
    shape: tuple[int, ...]
    port_shape: tuple[int, ...] | None
    metrics: PairMetrics | None = None
    tol: Tol | None = None

    def to_json(self) -> dict[str, Any]:
        m = self.metrics
        return {"index": self.index, "status": self.status, "shape": list(self.shape),
                "port_shape": None if self.port_shape is None else list(self.port_shape),
                "max_abs": None if m is None else m.max_abs,
                "rel_l2": None if m is None else m.rel_l2,
                "cosine": None if m is None else m.cosine,
                "snr_db": None if m is None else m.snr_db,
                "rtol": None if self.tol is None else self.tol.rtol,
                "atol": None if self.tol is None else self.tol.atol}


@dataclass
class Check:
    """A component's outputs judged together: the worst output decides.

    ``status``: ``ok``; ``FAIL`` (beyond tolerance), ``shape``, ``nonfinite`` (NaN/Inf on
    one side only), ``missing`` (the port returned fewer outputs than were recorded),
    ``error`` (the port raised: ``error`` holds the line), ``not run`` (nothing to judge:
    ``error`` says why).
    """

    status: str
    outputs: list[OutputCheck] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def wrong(self) -> bool:
        """Ran and disagrees (not an error, not unchecked)."""
        return self.status in ("FAIL", "shape", "nonfinite", "missing")

    def _worst(self, key: str, pick: Any) -> float | None:
        values = [getattr(o.metrics, key) for o in self.outputs if o.metrics is not None]
        return pick(values) if values else None

    @property
    def max_abs(self) -> float | None:
        return self._worst("max_abs", max)

    @property
    def rel_l2(self) -> float | None:
        return self._worst("rel_l2", max)

    @property
    def cosine(self) -> float | None:
        return self._worst("cosine", min)

    @property
    def snr_db(self) -> float | None:
        return self._worst("snr_db", min)

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "max_abs": self.max_abs, "rel_l2": self.rel_l2,
                "cosine": self.cosine, "snr_db": self.snr_db, "error": self.error,
                "outputs": [o.to_json() for o in self.outputs]}


def error_check(line: str, status: str = "error") -> Check:
    return Check(status, error=line)


def dtype_name(array: np.ndarray) -> str:
    return str(np.asarray(array).dtype)


def check_output(index: int, ref: np.ndarray, port: np.ndarray | None,
                 rtol: float | None = None, atol: float | None = None,
                 ref_stored: str | None = None) -> OutputCheck:
    """Judge one output pair; ``port`` None when the port did not return it.
    ``ref_stored`` is the reference's stored dtype when it differs from the array's (a
    bf16 trace reads as float32): the tolerance follows the coarser stored dtype."""
    if port is None:
        return OutputCheck(index, "missing", ref.shape, None)
    ref, port = comparable(ref), comparable(port)
    if ref.shape != port.shape:
        return OutputCheck(index, "shape", ref.shape, port.shape)
    base = default_tolerance(ref_stored or dtype_name(ref), dtype_name(port))
    tol = base if rtol is None and atol is None else Tol(
        base.rtol if rtol is None else rtol, base.atol if atol is None else atol,
        "--rtol/--atol")
    m = pair_metrics(ref, port)
    if m.nonfinite_mismatch:
        status = "nonfinite"
    else:
        status = "ok" if m.max_abs <= tol.limit(m.ref_absmax) else "FAIL"
    return OutputCheck(index, status, ref.shape, port.shape, m, tol)


def check_outputs(ref: dict[int, np.ndarray], port: dict[int, np.ndarray],
                  rtol: float | None = None, atol: float | None = None,
                  ref_stored: dict[int, str] | None = None) -> Check:
    """Judge every recorded output; the worst status is the component's."""
    stored = ref_stored or {}
    outputs = [check_output(k, ref[k], port.get(k), rtol, atol, stored.get(k))
               for k in sorted(ref)]
    bad = [o.status for o in outputs if o.status != "ok"]
    order = ("nonfinite", "shape", "missing", "FAIL")
    status = min(bad, key=order.index) if bad else "ok"
    return Check(status, outputs)


def comparable(array: np.ndarray) -> np.ndarray:
    """Complex as its real/imag view (how traces store it), booleans as integers."""
    array = np.asarray(array)
    if array.dtype.kind == "c":
        return np.stack([array.real, array.imag], axis=-1)
    if array.dtype == np.bool_:
        return array.astype(np.int8)
    return array
