"""Dtype-aware tolerances.

A pair passes when ``max|port - ref| <= atol + rtol * max|ref|`` and no non-finite value
appears on one side only. The error is measured against the tensor's own scale (its
largest magnitude), so one number fits activations of any size; the defaults follow the
coarser of the two stored dtypes: float32 keeps ~1e-4 of the scale after many layers of
reordered sums, float16 ~1e-2, bfloat16 (8 mantissa bits) a few 1e-2. Integer tensors
(token ids) must match exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

#: (rtol, atol) per stored dtype
DEFAULTS: dict[str, tuple[float, float]] = {
    "float64": (1e-8, 1e-12),
    "float32": (1e-4, 1e-6),
    "float16": (1e-2, 1e-4),
    "bfloat16": (4e-2, 1e-3),
    "float8_e4m3fn": (1.5e-1, 1e-2),
    "float8_e5m2": (3e-1, 1e-2),
}
_COARSENESS = ["float64", "float32", "float16", "bfloat16", "float8_e4m3fn", "float8_e5m2"]


@dataclass(frozen=True)
class Tol:
    rtol: float
    atol: float
    source: str  # "float32 default", "--rtol/--atol", "map file"

    def limit(self, ref_absmax: float) -> float:
        return self.atol + self.rtol * ref_absmax


def default_tolerance(ref_dtype: str, port_dtype: str, qtype: str | None = None) -> Tol:
    """Tolerance for a pair stored as ``ref_dtype`` / ``port_dtype``.

    Quantized port tensors (GGUF ``qtype``) get a tolerance that fits their block format.
    """
    if qtype is not None:
        q = {"Q8_0": 2e-2, "Q6_K": 4e-2, "Q5_0": 8e-2, "Q5_K": 8e-2}.get(qtype, 2e-1)
        return Tol(q, 1e-3, f"{qtype} default")
    floats = [d for d in (ref_dtype, port_dtype) if d in DEFAULTS]
    if not floats:
        return Tol(0.0, 0.0, "exact (integer)")
    coarsest = max(floats, key=_COARSENESS.index)
    rtol, atol = DEFAULTS[coarsest]
    return Tol(rtol, atol, f"{coarsest} default")
