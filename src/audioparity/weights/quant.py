"""Per-tensor quantization error with the ``gguf`` package's own quantizers.

``gguf`` (0.19) quantizes F16, BF16, Q8_0, Q5_0, Q5_1, Q4_0 and Q4_1 and dequantizes the
K-quants (Q6_K, Q5_K, Q4_K, ...) too, but cannot quantize those: their damage is measured on
existing GGUF files against a float reference (:func:`stored_quant_table`), never by a
re-implementation here.

Blocks run along the last axis, as GGUF stores rows. A tensor whose last axis is not a
multiple of the block size (a Conv1d ``[out, in, 7]``) is quantized as its C-order
flattening, zero-padded to whole blocks, and says so in ``note``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Types ``gguf`` can quantize (round trip measured); others are dequantize-only.
QUANTIZABLE = ("F16", "BF16", "Q8_0", "Q5_1", "Q5_0", "Q4_1", "Q4_0")

#: Nominal mantissa/quant bits of dequantize-only types: an upper bound for the expected
#: error is scaled from Q8_0's by 2^(8 - bits) (K-quants do better than this bound).
_BITS = {"Q8_K": 8, "Q6_K": 6, "Q5_K": 5, "Q4_K": 4, "Q3_K": 3, "Q2_K": 2,
         "IQ4_NL": 4, "IQ4_XS": 4, "IQ3_S": 3, "IQ3_XXS": 3, "IQ2_S": 2, "IQ2_XS": 2,
         "IQ2_XXS": 2, "IQ1_S": 1, "IQ1_M": 1, "Q8_1": 8}
#: Relative L2 error of Q8_0 on a Gaussian matrix (measured with gguf 0.19).
_Q8_0_GAUSSIAN_REL = 5.3e-3
#: Unit roundoff of float formats (relative error bound of round-to-nearest).
UNIT_ROUNDOFF = {"float16": 2.0 ** -11, "bfloat16": 2.0 ** -8, "float32": 2.0 ** -24,
                 "float64": 2.0 ** -53, "float8_e4m3fn": 2.0 ** -4, "float8_e5m2": 2.0 ** -3}


def _qtype(name: str):
    from gguf import GGMLQuantizationType

    try:
        return GGMLQuantizationType[name]
    except KeyError:
        raise ValueError(f"unknown GGUF type {name!r}") from None


def roundtrip(x: np.ndarray, qtype: str) -> tuple[np.ndarray, str]:
    """Quantize then dequantize ``x`` with ``gguf``; returns ``(float32 array, note)``.

    Raises
    ------
    ValueError
        ``qtype`` is unknown or one ``gguf`` cannot quantize.
    """
    from gguf import GGML_QUANT_SIZES, quants

    if qtype not in QUANTIZABLE:
        raise ValueError(f"gguf cannot quantize {qtype} (it can: {', '.join(QUANTIZABLE)}); "
                         "audit an existing GGUF file against its float reference instead")
    t = _qtype(qtype)
    block = GGML_QUANT_SIZES[t][0]
    a = np.ascontiguousarray(x, dtype=np.float32)
    # gguf's NumPy quantizers warn on stderr for NaN/Inf blocks; callers report those
    # tensors themselves (:func:`nonfinite_count`), so the warnings are only noise
    with np.errstate(all="ignore"):
        if a.ndim and a.shape[-1] % block == 0:
            return quants.dequantize(quants.quantize(a.reshape(-1, a.shape[-1]), t),
                                     t).reshape(a.shape), ""
        flat = a.reshape(-1)
        pad = -flat.size % block
        rows = np.concatenate([flat, np.zeros(pad, np.float32)]).reshape(-1, block)
        out = quants.dequantize(quants.quantize(rows, t), t).reshape(-1)[: flat.size]
    note = (f"last axis {a.shape[-1] if a.ndim else 1} not a multiple of {block}: "
            "blocks span rows")
    return out.reshape(a.shape), note


def sqnr_db(ref: np.ndarray, test: np.ndarray) -> float:
    """Signal-to-quantization-noise ratio 10·log10(Σref² / Σ(test-ref)²) in dB (inf if equal)."""
    r = np.asarray(ref, dtype=np.float64)
    noise = float(np.sum((np.asarray(test, dtype=np.float64) - r) ** 2))
    signal = float(np.sum(r * r))
    if noise == 0:
        return float("inf")
    if signal == 0:
        return float("-inf")
    return 10.0 * np.log10(signal / noise)


def expected_rel_error(qtype: str, ref: np.ndarray | None = None) -> float:
    """Relative L2 error a tensor stored as ``qtype`` should show.

    Quantizable types: measured by a ``gguf`` round trip of ``ref`` (when given). Float
    dtypes: the unit roundoff. Dequantize-only types: the bits-scaled bound.
    """
    if qtype in UNIT_ROUNDOFF:
        return UNIT_ROUNDOFF[qtype]
    if qtype in QUANTIZABLE and ref is not None and ref.size:
        deq, _ = roundtrip(ref, qtype)
        denom = float(np.linalg.norm(np.asarray(ref, dtype=np.float64)))
        return float(np.linalg.norm(deq - ref)) / denom if denom else 0.0
    bits = _BITS.get(qtype, {"Q8_0": 8, "Q5_0": 5, "Q5_1": 5, "Q4_0": 4, "Q4_1": 4,
                              "F16": 11, "BF16": 8}.get(qtype, 8))
    return _Q8_0_GAUSSIAN_REL * 2.0 ** (8 - bits)


@dataclass
class TensorQuant:
    """Quantization error of one tensor.

    ``flags`` name why it is fragile (``embedding``, ``1-D``, ``small conv``) and
    ``damaged`` says its SQNR is below the threshold asked for. ``nonfinite`` counts NaN/Inf
    values: such a tensor is not quantized (its SQNR is NaN) and is a problem of its own.
    """

    name: str
    shape: tuple[int, ...]
    qtype: str
    sqnr_db: float
    rel_l2: float
    max_abs: float
    note: str = ""
    flags: list[str] = field(default_factory=list)
    damaged: bool = False
    nonfinite: int = 0


def fragility_flags(name: str, shape: tuple[int, ...]) -> list[str]:
    """Kinds of tensor known to suffer most from block quantization."""
    flags = []
    if "embed" in name or "token_embd" in name or "codebook" in name:
        flags.append("embedding")
    if len(shape) <= 1:
        flags.append("1-D")
    if len(shape) >= 3 and int(np.prod(shape)) < 65536:
        flags.append("small conv")
    return flags


def nonfinite_count(x: np.ndarray) -> tuple[int, int]:
    """``(NaN count, ±Inf count)`` of an array."""
    a = np.asarray(x)
    if a.dtype.kind not in "fc":
        return 0, 0
    nan = int(np.count_nonzero(np.isnan(a)))
    return nan, int(a.size - nan - np.count_nonzero(np.isfinite(a)))


def nonfinite_row(name: str, shape: tuple[int, ...], qtype: str, counts: tuple[int, int],
                  where: str = "") -> TensorQuant:
    """The row of a tensor holding NaN/Inf: not quantized, reported as such."""
    nan, inf = counts
    return TensorQuant(name, tuple(shape), qtype, float("nan"), float("nan"), float("nan"),
                       f"{where}{nan} NaN, {inf} Inf: not quantized",
                       [*fragility_flags(name, tuple(shape)), "nonfinite"], False, nan + inf)


def _worst_first(rows: list[TensorQuant]) -> list[TensorQuant]:
    return sorted(rows, key=lambda r: (0, 0.0) if r.nonfinite else (1, r.sqnr_db))


def tensor_quant(name: str, ref: np.ndarray, test: np.ndarray, qtype: str, note: str = "",
                 min_sqnr_db: float = 30.0) -> TensorQuant:
    """Error of ``test`` (a dequantized tensor) against ``ref``."""
    for where, arr in (("", ref), ("dequantized: ", test)):
        counts = nonfinite_count(arr)
        if sum(counts):
            return nonfinite_row(name, np.shape(ref), qtype, counts, where)
    r = np.asarray(ref, dtype=np.float64)
    t = np.asarray(test, dtype=np.float64).reshape(r.shape)
    denom = float(np.linalg.norm(r))
    rel = float(np.linalg.norm(t - r)) / denom if denom else float(np.linalg.norm(t - r))
    s = sqnr_db(r, t)
    return TensorQuant(name, tuple(r.shape), qtype, s, rel,
                       float(np.max(np.abs(t - r))) if r.size else 0.0, note,
                       fragility_flags(name, tuple(r.shape)), bool(s < min_sqnr_db))


def quant_table(ckpt, qtype: str, min_sqnr_db: float = 30.0, progress=None) -> list[TensorQuant]:
    """Round-trip every float tensor of a checkpoint through ``qtype``; worst SQNR first.

    Parameters
    ----------
    ckpt : Checkpoint
        Any opened checkpoint (tensors read one at a time).
    qtype : str
        A type in :data:`QUANTIZABLE`.
    min_sqnr_db : float
        Tensors below this SQNR (dB) are marked ``damaged``.
    """
    rows = []
    for info in ckpt.infos():
        if info.is_float and info.numel:
            x = np.asarray(ckpt.read(info.name), dtype=np.float32)
            counts = nonfinite_count(x)
            if sum(counts):
                rows.append(nonfinite_row(info.name, x.shape, qtype, counts))
            else:
                deq, note = roundtrip(x, qtype)
                rows.append(tensor_quant(info.name, x, deq, qtype, note, min_sqnr_db))
        if progress is not None:
            progress()
    return _worst_first(rows)


def stored_quant_table(quantized, ref, matching, min_sqnr_db: float = 30.0,
                       progress=None, head_dim: int | None = None,
                       row_order: str = "reference") -> list[TensorQuant]:
    """Error of the tensors stored quantized in a GGUF file against their float reference.

    ``matching`` is a :class:`~audioparity.weights.keymap.KeyMatching` pairing ``ref`` and
    ``quantized`` names one to one; tensors stored as plain floats are skipped. With
    ``head_dim``, Q/K projections are measured after undoing llama.cpp's RoPE row
    permutation where the values show it (``row_order``: the order to assume when they
    cannot tell), so a llama GGUF's q/k are not mistaken for damaged ones.
    """
    from .layout import detect_layout, to_ref_layout
    from .rope_rows import detect_row_order, qk_projection

    rows = []
    for m in matching.matches:
        if len(m.ref) == 1 and len(m.port) == 1:
            info = quantized.info(m.port[0])
            if info.qtype is not None:
                r = np.asarray(ref.read(m.ref[0]), dtype=np.float32)
                q = quantized.read(m.port[0])
                note = ""
                order = (detect_row_order(r, q, head_dim, row_order)
                         if head_dim and qk_projection(m.ref[0]) else None)
                if order is not None and order.name != "reference":
                    q = order.undo(q)
                    note = f"Q/K rows {order.name.replace('_', ' ')}, undone"
                lay = detect_layout(r, q)
                q = (to_ref_layout(q, lay.perm) if not lay.reshaped else q.reshape(r.shape))
                rows.append(tensor_quant(m.ref[0], r, q, info.qtype, note, min_sqnr_db))
        if progress is not None:
            progress()
    return _worst_first(rows)
