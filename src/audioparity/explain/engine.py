"""Run the catalogue on one pair: the parity gate, odd-input handling, ranking."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from .arrays import PARITY_ATOL, PARITY_MAX_REL, PARITY_REL_L2, SAMPLE_LIMIT, fmt, is_integer
from .compound import compound
from .finding import ExplainContext, Finding
from .registry import signatures

#: Pairs smaller than this get a description, not a fit (a fit on 3 numbers proves nothing).
MIN_ELEMENTS = 4
_CHUNK = 1 << 20


def explain_pair(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext | None = None,
                 *, kinds: Sequence[str] | None = None, top: int | None = None
                 ) -> list[Finding]:
    """Run every registered signature (or only ``kinds``) and return findings, best first.

    Never raises on odd arrays (different sizes, int vs float, 0-d, empty, NaN): those give
    ``[Finding("unknown", ...)]`` describing what was seen. Returns at least one finding when
    ``ref`` and ``port`` are not within f32 noise of each other, and ``[]`` on parity.
    Pairs above :data:`~audioparity.explain.arrays.SAMPLE_LIMIT` elements are fitted on a
    deterministic subsample, and the details say so.

    Examples
    --------
    >>> ref = np.linspace(-1, 1, 4096, dtype=np.float32)
    >>> explain_pair(ref, ref / 2048)[0].detail
    'port = ref × 0.000488 ≈ 1/2048 = 1/n_fft (residual 0 after undoing it)'
    """
    ctx = ctx or ExplainContext()
    try:
        ref = np.asarray(ref)
        port = np.asarray(port)
        odd = _odd_input(ref, port)
        if odd is not None:
            return [odd]
        if _within_f32_noise(ref, port):
            return []
        findings = _run(ref, port, ctx, kinds)
    except Exception as exc:  # explaining must never crash a comparison
        if os.environ.get("AUDIOPARITY_DEBUG"):
            raise
        findings = [_unknown(f"could not fit signatures ({type(exc).__name__}: {exc})",
                             ref, port)]
    findings.sort(key=lambda f: -f.confidence)
    if max(getattr(ref, "size", 0), getattr(port, "size", 0)) > SAMPLE_LIMIT:
        note = f" [fitted on a deterministic subsample of ≤{SAMPLE_LIMIT} elements]"
        for f in findings:
            if f.cause != "nonfinite":
                f.detail += note
                f.params["subsampled"] = True
    return findings[:top] if top else findings


def _run(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext,
         kinds: Sequence[str] | None, compound_ok: bool = True) -> list[Finding]:
    integer = is_integer(ref) and is_integer(port)
    sigs = signatures(kinds)
    findings: list[Finding] = []
    nonfinite = signatures(["nonfinite"])
    if not integer and nonfinite:
        hit = nonfinite[0].match(ref, port, ctx)
        if hit is not None:
            return [hit]  # later fits on NaN/Inf would only add noise
        ref, port = _zero_nonfinite(ref), _zero_nonfinite(port)
    for sig in sigs:
        if sig.cause in ("nonfinite", "unknown"):
            continue
        if sig.same_shape and ref.shape != port.shape:
            continue
        if (sig.dtypes == "float" and integer) or (sig.dtypes == "integer" and not integer):
            continue
        try:
            hit = sig.match(ref, port, ctx)
        except Exception:  # one failing signature must not hide the others
            if os.environ.get("AUDIOPARITY_DEBUG"):
                raise
            hit = None
        if hit is not None:
            findings.append(hit)
    if not findings:
        unknown = signatures(["unknown"])
        findings = [unknown[0].match(ref, port, ctx)] if unknown else [
            _unknown("no signature fits", ref, port)]
        if compound_ok and kinds is None and not integer:
            # nothing fits the whole difference: one relation may fit most of it
            both = compound(ref, port, ctx,
                            lambda r, p: _run(r, p, ctx, None, compound_ok=False))
            if both is not None:
                findings.insert(0, both)
    return findings


def _odd_input(ref: np.ndarray, port: np.ndarray) -> Finding | None:
    """An ``unknown`` finding for pairs no signature can take, else None."""
    for side, x in (("ref", ref), ("port", port)):
        if x.dtype.kind == "c":
            return _unknown(f"{side} has dtype {x.dtype} (complex: no signature fits complex "
                            "values; compare magnitude and phase, or real and imaginary "
                            "parts, as two float tensors)", ref, port)
        if x.dtype.kind not in "iubf":
            return _unknown(f"{side} has dtype {x.dtype} (not numeric)", ref, port)
        if x.size == 0:
            return _unknown(f"{side} is empty (shape {list(x.shape)})", ref, port)
    if is_integer(ref) != is_integer(port):
        kinds = f"ref {ref.dtype} vs port {port.dtype}"
        return _unknown(f"integer vs float ({kinds}): tokens or ids on one side, "
                        "activations on the other — check both dumps name the same tensor",
                        ref, port)
    if ref.ndim == 0 or port.ndim == 0 or min(ref.size, port.size) < MIN_ELEMENTS:
        if ref.size == port.size and ref.size < MIN_ELEMENTS:
            if np.array_equal(ref.ravel(), port.ravel(), equal_nan=True):
                return None
            vals = f"ref={_vals(ref)} port={_vals(port)}"
            return _unknown(f"too few elements to fit a signature: {vals}", ref, port)
        return _unknown("0-d or tiny tensor on one side only", ref, port)
    return None


def _vals(x: np.ndarray) -> str:
    return "[" + ", ".join(fmt(float(v)) for v in x.ravel()[:MIN_ELEMENTS]) + "]"


def _unknown(problem: str, ref: np.ndarray, port: np.ndarray) -> Finding:
    shapes = f"ref {list(np.shape(ref))} {getattr(ref, 'dtype', '?')}, " \
             f"port {list(np.shape(port))} {getattr(port, 'dtype', '?')}"
    return Finding("unknown", 0.05, f"{problem}; {shapes}",
                   {"problem": problem, "ref_shape": list(np.shape(ref)),
                    "port_shape": list(np.shape(port))},
                   "inspect both dumps: they may not be the same tensor")


def _within_f32_noise(ref: np.ndarray, port: np.ndarray) -> bool:
    """Parity: same shape, identical integers, or floats within f32 reordering noise
    (relative L2 ≤ PARITY_REL_L2 and max abs ≤ PARITY_MAX_REL × max |value|), with NaN/Inf
    in the same places. Streams the arrays in chunks."""
    if ref.shape != port.shape:
        return False
    if is_integer(ref):
        return bool(np.array_equal(ref, port))
    r_flat, p_flat = ref.reshape(-1), port.reshape(-1)
    sq_diff = sq_ref = 0.0
    max_diff = max_val = 0.0
    for start in range(0, r_flat.size, _CHUNK):
        r = np.asarray(r_flat[start:start + _CHUNK], dtype=np.float64)
        p = np.asarray(p_flat[start:start + _CHUNK], dtype=np.float64)
        fin_r, fin_p = np.isfinite(r), np.isfinite(p)
        if not np.array_equal(fin_r, fin_p):
            return False
        if not fin_r.all():
            if not np.array_equal(r[~fin_r], p[~fin_p], equal_nan=True):
                return False
            r, p = r[fin_r], p[fin_p]
        d = p - r
        sq_diff += float(np.dot(d, d))
        sq_ref += max(float(np.dot(r, r)), float(np.dot(p, p)))
        if d.size:
            max_diff = max(max_diff, float(np.max(np.abs(d))))
            max_val = max(max_val, float(np.max(np.abs(r))), float(np.max(np.abs(p))))
    if max_diff <= PARITY_ATOL:
        return True
    return (np.sqrt(sq_diff / max(sq_ref, 1e-300)) <= PARITY_REL_L2
            and max_diff <= PARITY_MAX_REL * max_val)


def _zero_nonfinite(x: np.ndarray) -> np.ndarray:
    if x.dtype.kind != "f" or bool(np.isfinite(x).all()):
        return x
    return np.where(np.isfinite(x), x, 0.0).astype(x.dtype)
