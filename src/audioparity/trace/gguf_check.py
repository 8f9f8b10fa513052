"""Bounds check of a GGUF file's header before the ``gguf`` package parses it.

``gguf.GGUFReader`` trusts every count in the file: an array whose length field says 2^60
with its items past the end of the file makes it loop (and grow a list) practically forever.
:func:`check_gguf_header` walks the same structure — key/value metadata, then tensor
infos — and refuses any count that the bytes left in the file cannot hold, in time
proportional to the file's size.
"""

from __future__ import annotations

import mmap
import struct
from pathlib import Path

from ..errors import InputError

#: fixed sizes of GGUF scalar value types (type id -> bytes)
_SCALAR = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_STRING, _ARRAY = 8, 9
_MAX_DIMS = 8  # ggml holds 4; leave room for future versions
_MAX_NESTING = 8


class _Cursor:
    def __init__(self, data: bytes | mmap.mmap, order: str):
        self.data, self.order, self.pos = data, order, 0

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError(f"{what} runs past the end of the file (byte {self.pos})")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def u32(self, what: str) -> int:
        return struct.unpack(self.order + "I", self.take(4, what))[0]

    def u64(self, what: str) -> int:
        return struct.unpack(self.order + "Q", self.take(8, what))[0]

    def left(self) -> int:
        return len(self.data) - self.pos

    def string(self, what: str) -> None:
        self.take(self.u64(f"{what} length"), what)

    def value(self, vtype: int, what: str, depth: int = 0) -> None:
        if vtype in _SCALAR:
            self.take(_SCALAR[vtype], what)
        elif vtype == _STRING:
            self.string(what)
        elif vtype == _ARRAY:
            if depth >= _MAX_NESTING:
                raise ValueError(f"{what}: arrays nested deeper than {_MAX_NESTING}")
            itype = self.u32(f"{what} item type")
            count = self.u64(f"{what} length")
            smallest = _SCALAR.get(itype, 8 if itype == _STRING else 12)
            if itype not in _SCALAR and itype not in (_STRING, _ARRAY):
                raise ValueError(f"{what}: unknown value type {itype}")
            if count * smallest > self.left():
                raise ValueError(f"{what}: {count} items cannot fit in the {self.left()} "
                                 "bytes left")
            if itype in _SCALAR:
                self.take(count * smallest, what)
            else:
                for _ in range(count):
                    self.value(itype, what, depth + 1)
        else:
            raise ValueError(f"{what}: unknown value type {vtype}")


def check_gguf_header(path: Path) -> None:
    """Raise :class:`InputError` when a count in the header cannot fit in the file."""
    try:
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            _walk(data)  # mapped: a multi-GB checkpoint costs only its header's pages
    except (ValueError, struct.error) as exc:
        raise InputError(path, f"not a readable GGUF file ({exc})") from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None


def _walk(data: bytes | mmap.mmap) -> None:
    if data[:4] != b"GGUF":
        raise ValueError("no GGUF magic")
    order = "<"
    cur = _Cursor(data, order)
    cur.take(4, "magic")
    version = cur.u32("version")
    if version & 0xFFFF == 0:  # written big-endian
        cur.order = ">"
        version = struct.unpack(">I", struct.pack("<I", version))[0]
    if version < 2:
        raise ValueError(f"GGUF version {version} (v1) is not supported")
    n_tensors = cur.u64("tensor count")
    n_kv = cur.u64("metadata count")
    if n_kv * 13 > cur.left() or n_tensors * 24 > cur.left():
        raise ValueError(f"{n_kv} metadata entries and {n_tensors} tensors cannot fit in "
                         f"{len(data)} bytes")
    for i in range(n_kv):
        cur.string(f"metadata key {i}")
        cur.value(cur.u32(f"metadata {i} type"), f"metadata value {i}")
    for i in range(n_tensors):
        cur.string(f"tensor {i} name")
        n_dims = cur.u32(f"tensor {i} dimension count")
        if n_dims > _MAX_DIMS:
            raise ValueError(f"tensor {i} has {n_dims} dimensions")
        cur.take(8 * n_dims + 4 + 8, f"tensor {i} info")
