"""The Trace type: named tensors in execution order, opened lazily."""

from __future__ import annotations

import abc
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import numpy as np

#: dtype names used throughout audioparity (NumPy's, plus ``bfloat16`` which NumPy lacks).
FLOAT_DTYPES = ("float64", "float32", "float16", "bfloat16", "float8_e4m3fn", "float8_e5m2")


@dataclass(frozen=True)
class TensorInfo:
    """What a trace knows about one tensor without reading it.

    ``dtype`` is the stored dtype (``"bfloat16"`` for bf16 even though :meth:`Trace.read`
    returns float32). ``qtype`` is the GGUF quantization type name for quantized tensors.
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    qtype: str | None = None

    @property
    def numel(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def is_float(self) -> bool:
        return self.dtype in FLOAT_DTYPES


@dataclass
class Trace(abc.ABC):
    """Named tensors in execution order. Opening reads headers only; :meth:`read` loads one.

    Subclasses fill ``_infos`` (ordered) in ``__init__`` and implement :meth:`_read`.
    """

    path: Path
    meta: dict[str, Any] = field(default_factory=dict)
    _infos: dict[str, TensorInfo] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """Tensor names in execution order."""
        return list(self._infos)

    def info(self, name: str) -> TensorInfo:
        return self._infos[name]

    def infos(self) -> list[TensorInfo]:
        return list(self._infos.values())

    def read(self, name: str) -> np.ndarray:
        """Return one tensor as a NumPy array (a read-only memory map where the format allows).

        bfloat16 and float8 tensors come back as float32; quantized GGUF tensors dequantized.
        """
        if name not in self._infos:
            raise KeyError(name)
        return self._read(name)

    @abc.abstractmethod
    def _read(self, name: str) -> np.ndarray: ...

    def close(self) -> None:
        """Release file handles and maps (reading after close is an error)."""

    def __contains__(self, name: object) -> bool:
        return name in self._infos

    def __len__(self) -> int:
        return len(self._infos)

    def __iter__(self) -> Iterator[str]:
        return iter(self._infos)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_NUM = re.compile(r"(\d+)")


def natural_key(name: str) -> list[object]:
    """Sort key that orders ``layers.2`` before ``layers.10``."""
    return [int(part) if part.isdigit() else part for part in _NUM.split(name)]


def ordered(names: list[str], order: list[str] | None) -> list[str]:
    """Names in ``order`` first (those that exist), then the rest in natural order."""
    present = set(names)
    head = [n for n in (order or []) if n in present]
    seen = set(head)
    return head + sorted((n for n in names if n not in seen), key=natural_key)


def bf16_bits_to_float32(bits: np.ndarray) -> np.ndarray:
    """Widen raw bfloat16 bit patterns (uint16) to float32 exactly."""
    return (bits.astype(np.uint32) << 16).view(np.float32)


def float32_to_bf16_bits(x: np.ndarray) -> np.ndarray:
    """Round float32 to bfloat16 (round-to-nearest-even) and return the uint16 bit patterns."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    rounding = ((u >> 16) & 1) + np.uint32(0x7FFF)
    out = ((u + rounding) >> 16).astype(np.uint16)
    nan = np.isnan(x)
    if nan.any():
        out[nan] = 0x7FC0
    return out
