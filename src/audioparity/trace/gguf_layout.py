"""The layout of a GGUF file: its key/value metadata and tensor infos, read fast and bounded.

``gguf.GGUFReader`` builds a NumPy view for every item of every array, and trusts every
count: a Qwen-sized vocabulary (151,936 tokens, 151,387 merges) takes it about 11 s, and an
array length of 2^60 past the end of the file makes it loop practically forever.
:func:`read_gguf_layout` walks the same structure (GGUF v2/v3: magic, version, tensor count,
key/value count, typed values, then tensor infos) over the memory-mapped file with
:mod:`struct`: short arrays are decoded, long ones stepped over by their length (a string
array's item lengths are still walked, about 0.1 µs each), and every count the bytes left
cannot hold is refused — time proportional to the file's size at worst.

It refuses what ``GGUFReader`` refuses: bad magic, versions other than 2 and 3, unknown value
or tensor types, truncation, duplicate keys or tensor names, a ``general.alignment`` that is
no UINT32 power of two, a quantized row not a whole number of blocks, tensor data past the
end of the file.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: GGUF value type id -> struct code of its scalars
_SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q",
           11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9
_UINT32 = 4
#: arrays with more items than this are not decoded (a :class:`LongArray` stands for them)
MAX_ITEMS = 4096
_MAX_DIMS = 8  # ggml holds 4; leave room for future versions
_MAX_NESTING = 8
_DEFAULT_ALIGNMENT = 32
#: fewest bytes one metadata entry / one tensor info can take
_MIN_KV, _MIN_TENSOR_INFO = 13, 24


@dataclass(frozen=True)
class LongArray:
    """An array value left undecoded: its item type (GGUF value type id) and length."""

    item_type: int
    length: int

    def __len__(self) -> int:
        return self.length


@dataclass(frozen=True)
class TensorLayout:
    """Where one tensor's data lies: ``dims`` innermost first (ggml's ``ne``), ``ggml_type``
    the ``GGMLQuantizationType`` id, ``offset`` and ``n_bytes`` in bytes from the file's
    start."""

    name: str
    dims: tuple[int, ...]
    ggml_type: int
    offset: int
    n_bytes: int


@dataclass(frozen=True)
class GGUFLayout:
    """A GGUF's header.

    ``metadata`` maps each key to a Python value: int, float, bool, str (``bytes`` for a
    string that is not UTF-8), a list for an array of up to ``max_items`` items, else a
    :class:`LongArray`. ``byte_order`` is ``"<"`` or ``">"``; ``data_offset`` is where the
    tensor data starts (bytes).
    """

    version: int
    byte_order: str
    metadata: dict[str, Any]
    tensors: tuple[TensorLayout, ...]
    data_offset: int


def read_gguf_layout(path: str | Path, max_items: int = MAX_ITEMS) -> GGUFLayout:
    """The metadata and tensor infos of the GGUF at ``path``.

    Raises
    ------
    ValueError
        Not a GGUF file, or one whose header is damaged or cut short (the message says
        where, in one line).
    OSError
        The file cannot be opened or mapped.
    """
    with open(path, "rb") as fh:
        if fh.seek(0, 2) == 0:
            raise ValueError("empty file")  # mmap cannot map it
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _Walker(data, max_items).layout()  # mapped: only the header's pages


class _Walker:
    """A cursor over the mapped bytes that refuses anything running past their end."""

    def __init__(self, data: mmap.mmap, max_items: int):
        self.data, self.max_items, self.pos, self.order = data, max_items, 0, "<"

    def take(self, n: int, what: str) -> int:
        """Step over ``n`` bytes; returns where they start."""
        start = self.pos
        if n < 0 or start + n > len(self.data):
            raise ValueError(f"{what} runs past the end of the file (byte {start})")
        self.pos = start + n
        return start

    def scalar(self, code: str, what: str) -> Any:
        fmt = struct.Struct(self.order + code)
        return fmt.unpack_from(self.data, self.take(fmt.size, what))[0]

    def raw_string(self, what: str) -> bytes:
        return self.data[self.take(self.scalar("Q", f"{what} length"), what):self.pos]

    def string(self, what: str) -> str | bytes:
        raw = self.raw_string(what)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw

    def name(self, what: str) -> str:
        try:
            return self.raw_string(what).decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"{what} is not UTF-8") from None

    def layout(self) -> GGUFLayout:
        if self.data[:4] != b"GGUF":
            raise ValueError("GGUF magic invalid")
        self.pos = 4
        version = self.scalar("I", "version")
        if version & 0xFFFF == 0:  # written on a machine of the other byte order
            self.order, version = ">", struct.unpack(">I", struct.pack("<I", version))[0]
        if version not in (2, 3):
            raise ValueError(f"GGUF version {version} is not supported (2 or 3)")
        n_tensors = self.scalar("Q", "tensor count")
        n_kv = self.scalar("Q", "metadata count")
        left = len(self.data) - self.pos
        if n_kv * _MIN_KV > left or n_tensors * _MIN_TENSOR_INFO > left:
            raise ValueError(f"{n_kv} metadata entries and {n_tensors} tensors cannot fit in "
                             f"{len(self.data)} bytes")
        metadata: dict[str, Any] = {}
        alignment = _DEFAULT_ALIGNMENT
        for i in range(n_kv):
            key = self.name(f"metadata key {i}")
            if key in metadata:
                raise ValueError(f"duplicate metadata key '{key}'")
            vtype = self.scalar("I", f"metadata '{key}' type")
            metadata[key] = self.value(vtype, f"metadata '{key}'")
            if key == "general.alignment":
                alignment = metadata[key]
                if vtype != _UINT32 or alignment <= 0 or alignment & (alignment - 1):
                    raise ValueError(f"general.alignment {alignment!r} is no UINT32 power "
                                     "of two")
        infos = [self.tensor_info(i) for i in range(n_tensors)]
        data_offset = -(-self.pos // alignment) * alignment
        return GGUFLayout(version, self.order, metadata,
                          _tensors(infos, data_offset, len(self.data)), data_offset)

    def value(self, vtype: int, what: str, depth: int = 0) -> Any:
        if vtype in _SCALAR:
            return self.scalar(_SCALAR[vtype], what)
        if vtype == _STRING:
            return self.string(what)
        if vtype != _ARRAY:
            raise ValueError(f"{what}: unknown value type {vtype}")
        if depth >= _MAX_NESTING:
            raise ValueError(f"{what}: arrays nested deeper than {_MAX_NESTING}")
        itype = self.scalar("I", f"{what} item type")
        count = self.scalar("Q", f"{what} length")
        if itype not in _SCALAR and itype not in (_STRING, _ARRAY):
            raise ValueError(f"{what}: unknown value type {itype}")
        fmt = struct.Struct(f"{self.order}{_SCALAR.get(itype, 'Q')}")
        smallest = fmt.size if itype in _SCALAR else 8 if itype == _STRING else 12
        left = len(self.data) - self.pos
        if count * smallest > left:
            raise ValueError(f"{what}: {count} items cannot fit in the {left} bytes left")
        if itype in _SCALAR:
            start = self.take(count * fmt.size, what)
            if count > self.max_items:
                return LongArray(itype, count)
            items = struct.unpack_from(f"{self.order}{count}{fmt.format[-1]}", self.data, start)
            return list(items)
        if count > self.max_items and itype == _STRING:
            self.skip_strings(count, fmt, what)
            return LongArray(itype, count)
        items = [self.value(itype, what, depth + 1) for _ in range(count)]
        return items if count <= self.max_items else LongArray(itype, count)

    def skip_strings(self, count: int, length: struct.Struct, what: str) -> None:
        """Step over ``count`` strings, reading only their lengths (the tight loop a
        vocabulary of 150k tokens runs through in tens of milliseconds)."""
        unpack, data, pos = length.unpack_from, self.data, self.pos
        try:
            for _ in range(count):
                pos += 8 + unpack(data, pos)[0]
        except (struct.error, OverflowError):  # past the end, or past what an offset holds
            pos = len(data) + 1
        if pos > len(data):
            raise ValueError(f"{what} runs past the end of the file (byte {self.pos})")
        self.pos = pos

    def tensor_info(self, i: int) -> tuple[str, tuple[int, ...], int, int]:
        name = self.name(f"tensor {i} name")
        n_dims = self.scalar("I", f"tensor '{name}' dimension count")
        if n_dims > _MAX_DIMS:
            raise ValueError(f"tensor '{name}' has {n_dims} dimensions")
        dims = struct.unpack_from(f"{self.order}{n_dims}Q", self.data,
                                  self.take(8 * n_dims, f"tensor '{name}' dimensions"))
        ggml_type = self.scalar("I", f"tensor '{name}' type")
        return name, dims, ggml_type, self.scalar("Q", f"tensor '{name}' offset")


def _tensors(infos: list[tuple[str, tuple[int, ...], int, int]], data_offset: int,
             file_size: int) -> tuple[TensorLayout, ...]:
    """Each tensor's byte size from its type and dimensions, its data within the file."""
    from gguf.constants import GGML_QUANT_SIZES

    out, seen = [], set()
    for name, dims, ggml_type, offset in infos:
        if name in seen:
            raise ValueError(f"duplicate tensor name '{name}'")
        seen.add(name)
        if ggml_type not in GGML_QUANT_SIZES:
            raise ValueError(f"tensor '{name}' has unknown type {ggml_type}")
        block, type_size = GGML_QUANT_SIZES[ggml_type]
        if dims and dims[0] % block:
            raise ValueError(f"tensor '{name}': rows of {dims[0]} are not whole blocks of "
                             f"{block}")
        n_elements = 1
        for d in dims:
            n_elements *= d
        n_bytes = n_elements * type_size // block
        start = data_offset + offset
        if start + n_bytes > file_size:
            raise ValueError(f"tensor '{name}' data runs past the end of the file")
        out.append(TensorLayout(name, tuple(dims), ggml_type, start, n_bytes))
    return tuple(out)
