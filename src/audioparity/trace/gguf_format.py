"""GGUF files (llama.cpp): every tensor dequantized to float32 with the ``gguf`` package.

The header is read with :func:`~audioparity.trace.gguf_layout.read_gguf_layout` (bounded;
long arrays such as a 150k-token vocabulary are stepped over, not parsed, where
``gguf.GGUFReader`` takes seconds), the tensor data memory-mapped with :class:`numpy.memmap`
and each tensor read only when asked for. The stored quantization type stays in
:attr:`TensorInfo.qtype`. GGUF stores dimensions innermost-first; shapes here are NumPy
order (outermost first). An ``audioparity.order`` string field (JSON list) gives execution
order, else file order.

A big-endian file (version field byte-swapped) is read: plain tensors (F32, F16, F64, I8 …
I64) come back in the machine's byte order. Its quantized and BF16 tensors are refused in
one line: writers disagree on whether their block scales were swapped (``gguf``'s writer
leaves them, llama.cpp's ``gguf_convert_endian.py`` swaps them), so no reading is sure.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import InputError
from .base import DAMAGED, TensorInfo, Trace, drop_pages, ordered, resolve_repeats
from .gguf_layout import TensorLayout, read_gguf_layout
from .safetensors_format import ORDER_KEY

#: ggml types read as plain arrays (no block structure): GGUF type name -> dtype name
_PLAIN = {"F32": "float32", "F16": "float16", "F64": "float64", "BF16": "bfloat16",
          "I8": "int8", "I16": "int16", "I32": "int32", "I64": "int64"}
#: a dimension this large cannot describe real data (NumPy's index type would overflow)
_MAX_DIM = 2 ** 62


class GGUFTrace(Trace):
    """A memory-mapped GGUF file."""

    def __init__(self, path: str | Path):
        super().__init__(Path(path))
        from gguf import GGMLQuantizationType

        try:
            layout = read_gguf_layout(self.path, max_items=0)  # no array decoded: only walked
        except ValueError as exc:
            raise InputError(self.path, f"not a readable GGUF file ({exc})") from None
        except OSError as exc:
            raise InputError(self.path, f"cannot read: {exc.strerror or exc}") from None
        self._big_endian = layout.byte_order == ">"
        self._layouts: dict[str, TensorLayout] = {t.name: t for t in layout.tensors}
        infos = {}
        for t in layout.tensors:
            qname = GGMLQuantizationType(t.ggml_type).name
            if any(d >= _MAX_DIM for d in t.dims):
                raise InputError(self.path, f"not a readable GGUF file (tensor '{t.name}' "
                                            f"has dimensions {t.dims})")
            if qname not in _PLAIN and not t.dims:
                raise InputError(self.path, f"not a readable GGUF file (tensor '{t.name}' is "
                                            f"{qname} without dimensions)")
            infos[t.name] = TensorInfo(t.name, tuple(reversed(t.dims)),
                                       _PLAIN.get(qname, "float32"),
                                       None if qname in _PLAIN else qname)
        order = _order(self.path, layout.metadata.get(ORDER_KEY))
        if order is not None:
            notes: list[str] = []
            order = resolve_repeats(order, infos, notes, ORDER_KEY)
            if notes:
                self.meta["notes"] = notes
        architecture = layout.metadata.get("general.architecture")
        self.meta["architecture"] = architecture if isinstance(architecture, str) else None
        self._infos = {n: infos[n] for n in (ordered(list(infos), order) if order else infos)}
        self._map: np.memmap | None = None

    def _read(self, name: str) -> np.ndarray:
        from gguf import GGMLQuantizationType
        from gguf.quants import dequantize, quant_shape_to_byte_shape

        t, info = self._layouts[name], self._infos[name]
        if self._map is None:
            self._map = np.memmap(self.path, dtype=np.uint8, mode="r")
        raw = self._map[t.offset:t.offset + t.n_bytes]
        try:
            if len(raw) != t.n_bytes:
                raise ValueError(f"the file is now {len(self._map)} bytes, shorter than when "
                                 "opened")
            if info.qtype is None and info.dtype != "bfloat16":
                if self._big_endian:
                    stored = np.dtype(info.dtype).newbyteorder(">")
                    return raw.view(stored).astype(info.dtype).reshape(info.shape)
                return raw.view(info.dtype).reshape(info.shape)
            if self._big_endian:
                raise InputError(self.path, f"tensor '{name}': {info.qtype or 'BF16'} in a "
                                 "big-endian GGUF cannot be read for sure (writers disagree on "
                                 "swapping its block scales); convert the file to little-endian "
                                 "(gguf_convert_endian.py FILE little)")
            qtype = GGMLQuantizationType(t.ggml_type)
            blocks = raw.reshape(quant_shape_to_byte_shape(info.shape, qtype))
            with np.errstate(all="ignore"):  # Inf/NaN scales dequantize to Inf/NaN, quietly
                return dequantize(blocks, qtype).reshape(info.shape)
        except NotImplementedError:
            raise InputError(self.path, f"tensor '{name}': gguf cannot dequantize {info.qtype}") from None
        except DAMAGED as exc:  # damaged data whose size does not fit its type/shape
            raise InputError(self.path, f"cannot read tensor '{name}' ({_reason(exc)})") from None

    def close(self) -> None:
        self._map = None

    def release(self, name: str | None = None) -> None:
        if name is None:
            drop_pages(self._map)
        else:
            t = self._layouts[name]
            drop_pages(self._map, (t.offset, t.offset + t.n_bytes))


def _order(path: Path, value: object) -> list[str] | None:
    """The execution order stored under ``audioparity.order`` (a JSON list of names)."""
    if value is None:
        return None
    try:
        if not isinstance(value, str):
            raise TypeError
        order = json.loads(value)
    except (ValueError, TypeError, RecursionError):
        raise InputError(path, f"{ORDER_KEY} field is not a JSON list") from None
    if not isinstance(order, list) or not all(isinstance(n, str) for n in order):
        raise InputError(path, f"{ORDER_KEY} field is not a JSON list of names")
    return order


def _reason(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [""])[0][:160]
    return text or type(exc).__name__
