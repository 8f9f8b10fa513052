"""The Trace type: named tensors in execution order, opened lazily."""

from __future__ import annotations

import abc
import mmap
import re
import struct
import tokenize
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import numpy as np

#: what parsers (numpy, zipfile, gguf, torch) raise on damaged bytes: each is bad input
#: (MemoryError is not: the CLI says "out of memory" for it, and the fuzz tests treat a
#: reader that allocates far beyond its file as a failure)
DAMAGED = (ValueError, TypeError, LookupError, AttributeError, ArithmeticError, EOFError,
           OSError, RuntimeError, SyntaxError, struct.error, zipfile.BadZipFile, zlib.error,
           tokenize.TokenError)

#: dtype names used throughout audioparity (NumPy's, plus ``bfloat16`` which NumPy lacks).
FLOAT_DTYPES = ("float64", "float32", "float16", "bfloat16", "float8_e4m3fn", "float8_e5m2")


@dataclass(frozen=True)
class TensorInfo:
    """What a trace knows about one tensor without reading it.

    ``dtype`` is the stored dtype (``"bfloat16"`` for bf16 even though :meth:`Trace.read`
    returns float32). ``qtype`` is the GGUF quantization type name for quantized tensors.
    ``from_complex`` names the complex dtype (``"complex64"``) of a tensor stored complex:
    it is exposed as its real ``[..., 2]`` view (real, imaginary on the last axis), the
    form the torch capture writes with ``torch.view_as_real``, so ``shape`` ends in 2 and
    ``dtype`` is the real component dtype.
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    qtype: str | None = None
    from_complex: str | None = None

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

    @property
    def modules(self) -> dict[str, str]:
        """The module class recorded per tensor name (meta ``modules``); {} when absent."""
        mods = self.meta.get("modules") if isinstance(self.meta, dict) else None
        return {str(k): str(v) for k, v in mods.items()} if isinstance(mods, dict) else {}

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

    def release(self, name: str | None = None) -> None:
        """Let the OS drop this process's pages of ``name`` (None: of every tensor).

        Memory-mapped formats override it, so that comparing a trace of many GB tensor by
        tensor keeps only the pair at hand resident; reading again simply maps them back.
        """

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
    """Names in ``order`` first (those that exist, once each), then the rest in natural order."""
    present = set(names)
    head = list(dict.fromkeys(n for n in (order or []) if isinstance(n, str) and n in present))
    seen = set(head)
    return head + sorted((n for n in names if n not in seen), key=natural_key)


def resolve_repeats(order: list[str], present: set[str] | dict,
                    notes: list[str], source: str) -> list[str]:
    """Execution order with repeated names made distinct, as far as the tensors allow.

    Dumpers that name tensors after graph nodes repeat names (llama.cpp's ``Qcur-0`` before
    and after RoPE). The k-th repeat (k ≥ 1) of ``NAME`` becomes ``NAME#k`` when a tensor of
    that name exists (the capture's own convention for a repeated call). When it does not,
    only one tensor exists for all the repeats: a dumper that writes by name overwrites, so
    that tensor holds the *last* write and is placed at the last repeat; the others are
    dropped and a note in ``notes`` says so (``source`` names the order's origin).
    """
    counts: dict[str, int] = {}
    for name in order:
        counts[name] = counts.get(name, 0) + 1
    numbered = {n for n, c in counts.items()
                if c > 1 and any(f"{n}#{k}" in present for k in range(1, c))}
    seen: dict[str, int] = {}
    out: list[str] = []
    for name in order:
        k = seen.get(name, 0)
        seen[name] = k + 1
        if counts[name] == 1 or (name in numbered and k == 0):
            out.append(name)
        elif name in numbered:
            if f"{name}#{k}" in present:
                out.append(f"{name}#{k}")
        elif k == counts[name] - 1:  # one tensor for every repeat: it holds the last write
            out.append(name)
    resolved = []
    for name in sorted((n for n, c in counts.items() if c > 1 and n in present),
                       key=natural_key):
        c = counts[name]
        if name in numbered and all(f"{name}#{k}" in present for k in range(1, c)):
            resolved.append(name)
            continue
        if name not in numbered:
            notes.append(f"{source} lists '{name}' {c} times but only one tensor exists for "
                         f"it (no '{name}#1'): the {c - 1} earlier repeat(s) were dropped and "
                         f"'{name}' is placed at its last repeat (a dumper that writes by "
                         "name keeps the last write)")
            continue
        missing = [f"{name}#{k}" for k in range(1, c) if f"{name}#{k}" not in present]
        notes.append(f"{source} lists '{name}' {c} times: the repeats are read as "
                     f"'{name}#1'..'{name}#{c - 1}' in execution order"
                     + (f"; no tensor for {', '.join(missing)}: dropped" if missing else ""))
    if resolved:  # the expected case: one line for all of them
        shown = ", ".join(f"'{n}'" for n in resolved[:4]) + (", …" if len(resolved) > 4 else "")
        notes.append(f"{source} repeats {len(resolved)} name(s) ({shown}): the k-th repeat "
                     "is read as NAME#k, in execution order")
    return out


def complex_as_real(arr: np.ndarray) -> np.ndarray:
    """The real ``[..., 2]`` view of a complex array (as ``torch.view_as_real``); no copy
    when the array is contiguous."""
    real = arr.real.dtype
    if not arr.flags.c_contiguous:
        arr = np.ascontiguousarray(arr)
    return arr.view(real).reshape(*arr.shape, 2)


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


def drop_pages(mapped: np.memmap | None, span: tuple[int, int] | None = None) -> None:
    """Drop this process's resident pages of a read-only file mapping (``span`` = byte
    ``(start, stop)`` in the file, None = all of it); a no-op where madvise is missing.

    The pages stay in the page cache and fault back in on the next read: only the resident
    set shrinks, which keeps a compare of many large tensors inside its memory bound.
    """
    raw = getattr(mapped, "_mmap", None)
    if raw is None or not hasattr(mmap, "MADV_DONTNEED"):
        return
    start, stop = span if span is not None else (0, len(raw))
    start -= start % mmap.PAGESIZE  # madvise wants a page-aligned start
    if stop > start:
        raw.madvise(mmap.MADV_DONTNEED, start, stop - start)
