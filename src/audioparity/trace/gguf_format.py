"""GGUF files (llama.cpp): every tensor dequantized to float32 with the ``gguf`` package.

The stored quantization type stays in :attr:`TensorInfo.qtype`. GGUF stores dimensions
innermost-first; shapes here are NumPy order (outermost first), as ``gguf`` reports data.
An ``audioparity.order`` string field (JSON list) gives execution order, else file order.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from ..errors import InputError
from .base import DAMAGED, TensorInfo, Trace, ordered, resolve_repeats
from .gguf_check import check_gguf_header
from .safetensors_format import ORDER_KEY

_PLAIN = {"F32": "float32", "F16": "float16", "F64": "float64", "BF16": "bfloat16",
          "I8": "int8", "I16": "int16", "I32": "int32", "I64": "int64"}


class GGUFTrace(Trace):
    """A memory-mapped GGUF file."""

    def __init__(self, path: str | Path):
        super().__init__(Path(path))
        import gguf

        check_gguf_header(self.path)  # gguf trusts every count: bound them first
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # gguf warns on duplicate keys, then raises
                self._reader = gguf.GGUFReader(self.path)
            self._tensors = {t.name: t for t in self._reader.tensors}
            infos = {}
            for name, t in self._tensors.items():
                qname = t.tensor_type.name
                shape = tuple(int(s) for s in reversed(t.shape.tolist()))
                dtype = _PLAIN.get(qname, "float32")
                infos[name] = TensorInfo(name, shape, dtype, None if qname in _PLAIN else qname)
        except DAMAGED as exc:  # the gguf package raises many types on damaged files
            raise InputError(self.path, f"not a readable GGUF file ({_reason(exc)})") from None
        order = None
        field = self._reader.fields.get(ORDER_KEY)
        if field is not None:
            try:
                order = json.loads(bytes(field.parts[field.data[0]]).decode())
            except (ValueError, IndexError, TypeError, UnicodeDecodeError, RecursionError):
                raise InputError(self.path, f"{ORDER_KEY} field is not a JSON list") from None
            if not isinstance(order, list) or not all(isinstance(n, str) for n in order):
                raise InputError(self.path, f"{ORDER_KEY} field is not a JSON list of names")
            notes: list[str] = []
            order = resolve_repeats(order, infos, notes, ORDER_KEY)
            if notes:
                self.meta["notes"] = notes
        self.meta["architecture"] = _string_field(self._reader, "general.architecture")
        self._infos = {n: infos[n] for n in (ordered(list(infos), order) if order else infos)}

    def _read(self, name: str) -> np.ndarray:
        import gguf

        t = self._tensors[name]
        info = self._infos[name]
        try:
            if info.qtype is None and info.dtype != "bfloat16":
                return np.asarray(t.data).reshape(info.shape)
            with np.errstate(all="ignore"):  # Inf/NaN scales dequantize to Inf/NaN, quietly
                return gguf.quants.dequantize(t.data, t.tensor_type).reshape(info.shape)
        except NotImplementedError:
            raise InputError(self.path, f"tensor '{name}': gguf cannot dequantize {info.qtype}") from None
        except DAMAGED as exc:  # damaged data whose size does not fit its type/shape
            raise InputError(self.path, f"cannot read tensor '{name}' ({_reason(exc)})") from None


def _string_field(reader, key: str) -> str | None:
    field = reader.fields.get(key)
    if field is None:
        return None
    try:
        return bytes(field.parts[field.data[0]]).decode()
    except (IndexError, UnicodeDecodeError):
        return None


def _reason(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [""])[0][:160]
    return text or type(exc).__name__
