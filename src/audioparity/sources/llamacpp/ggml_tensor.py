"""A ggml graph node as NumPy: the ``struct ggml_tensor`` layout and a strided read.

The eval callback receives a ``struct ggml_tensor *``. ``ne`` (elements per dimension) and
``nb`` (byte strides) are innermost-first: the NumPy shape and strides are their reverse.
A view (reshape, permute, transpose) keeps its source's memory and its own strides, so the
bytes are fetched as the span ggml says the node covers (``ggml_nbytes``, through
``ggml_backend_tensor_get``, which works for any backend) and read through the strides.
F16 and BF16 are widened to float32 (exactly); quantized node types are not read.

The struct mirrors ``ggml/include/ggml.h`` of the pinned llama.cpp (llama-cpp-python
0.3.36); :func:`check_layout` compares it with what ggml's own accessors report, so a
different build fails with a message instead of reading garbage.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...trace.base import bf16_bits_to_float32

GGML_MAX_DIMS = 4
GGML_MAX_SRC = 10
GGML_MAX_OP_PARAMS = 64
GGML_MAX_NAME = 64

#: ggml type id -> (name, NumPy dtype of its storage); types not here are not read
GGML_TYPES: dict[int, tuple[str, str]] = {
    0: ("f32", "<f4"), 1: ("f16", "<f2"), 24: ("i8", "i1"), 25: ("i16", "<i2"),
    26: ("i32", "<i4"), 27: ("i64", "<i8"), 28: ("f64", "<f8"), 30: ("bf16", "<u2"),
}


class GGMLTensor(ctypes.Structure):
    """``struct ggml_tensor`` (ggml.h)."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("buffer", ctypes.c_void_p),
        ("ne", ctypes.c_int64 * GGML_MAX_DIMS),
        ("nb", ctypes.c_size_t * GGML_MAX_DIMS),
        ("op", ctypes.c_int),
        ("op_params", ctypes.c_int32 * (GGML_MAX_OP_PARAMS // 4)),
        ("flags", ctypes.c_int32),
        ("src", ctypes.c_void_p * GGML_MAX_SRC),
        ("view_src", ctypes.c_void_p),
        ("view_offs", ctypes.c_size_t),
        ("data", ctypes.c_void_p),
        ("name", ctypes.c_char * GGML_MAX_NAME),
        ("extra", ctypes.c_void_p),
        ("padding", ctypes.c_char * 8),
    ]


@dataclass(frozen=True)
class NodeInfo:
    """What is known of a node before reading it: ggml name, op, type, NumPy shape."""

    name: str
    op: str
    type_name: str
    shape: tuple[int, ...]


class GGML:
    """The ggml functions the capture calls, bound from llama-cpp-python's shared library."""

    def __init__(self, lib: Any):
        self.tensor_get = _bind(lib, "ggml_backend_tensor_get", None,
                                [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                 ctypes.c_size_t])
        self.nbytes = _bind(lib, "ggml_nbytes", ctypes.c_size_t, [ctypes.c_void_p])
        self.nelements = _bind(lib, "ggml_nelements", ctypes.c_int64, [ctypes.c_void_p])
        self.n_dims = _bind(lib, "ggml_n_dims", ctypes.c_int, [ctypes.c_void_p])
        self.op_desc = _bind(lib, "ggml_op_desc", ctypes.c_char_p, [ctypes.c_void_p])
        self.get_name = _bind(lib, "ggml_get_name", ctypes.c_char_p, [ctypes.c_void_p])
        self.type_name = _bind(lib, "ggml_type_name", ctypes.c_char_p, [ctypes.c_int])
        self.tensor_overhead = _bind(lib, "ggml_tensor_overhead", ctypes.c_size_t, [])

    def info(self, ptr: int) -> NodeInfo:
        """Name, op, type and NumPy shape of the node at ``ptr``."""
        t = GGMLTensor.from_address(ptr)
        n_dims = max(int(self.n_dims(ptr)), 1)
        shape = tuple(int(t.ne[k]) for k in reversed(range(n_dims)))
        return NodeInfo(t.name.decode("utf-8", "replace"),
                        (self.op_desc(ptr) or b"?").decode(), (self.type_name(t.type) or b"?")
                        .decode(), shape)

    def quantized_source(self, ptr: int) -> str | None:
        """The type of a quantized tensor the node reads (``Q8_0`` for a matmul with Q8_0
        weights, an embedding lookup in a Q8_0 table), or None."""
        t = GGMLTensor.from_address(ptr)
        for src in t.src:
            if src:
                kind = int(GGMLTensor.from_address(src).type)
                if kind not in GGML_TYPES:
                    return (self.type_name(kind) or b"?").decode().upper()
        return None

    def read(self, ptr: int) -> np.ndarray | None:
        """The node's values as a C-contiguous array (float types widened to float32), or
        None when it cannot be read (a quantized type, no data, no buffer)."""
        t = GGMLTensor.from_address(ptr)
        kind = GGML_TYPES.get(int(t.type))
        if kind is None or not t.data:
            return None
        src = GGMLTensor.from_address(t.view_src) if t.view_src else t
        if not src.buffer:
            return None  # ggml_backend_tensor_get would abort the process
        n_dims = max(int(self.n_dims(ptr)), 1)
        shape = tuple(int(t.ne[k]) for k in reversed(range(n_dims)))
        strides = tuple(int(t.nb[k]) for k in reversed(range(n_dims)))
        span = int(self.nbytes(ptr))
        raw = np.empty(span, np.uint8)
        if span:
            self.tensor_get(ptr, raw.ctypes.data, 0, span)
        return widen(strided(raw, kind[1], shape, strides), kind[0])

    def check_layout(self, ptr: int) -> str | None:
        """Why :class:`GGMLTensor` does not match this ggml build (None: it does)."""
        t = GGMLTensor.from_address(ptr)
        name = (self.get_name(ptr) or b"").decode("utf-8", "replace")
        ne = int(np.prod([int(v) for v in t.ne], dtype=np.int64))
        if name != t.name.decode("utf-8", "replace") or ne != int(self.nelements(ptr)):
            return ("this llama.cpp build's struct ggml_tensor differs from the one "
                    "audioparity reads (install llama-cpp-python==0.3.36)")
        return None


def strided(raw: np.ndarray, dtype: str, shape: tuple[int, ...],
            strides: tuple[int, ...]) -> np.ndarray:
    """The elements of ``raw`` (bytes) at byte ``strides``, copied C-contiguous.

    >>> raw = np.arange(6, dtype="<f4").view(np.uint8)     # a [2, 3] matrix
    >>> strided(raw, "<f4", (3, 2), (4, 12)).tolist()      # its transpose, as ggml permutes
    [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
    """
    if 0 in shape:
        return np.zeros(shape, dtype)
    itemsize = np.dtype(dtype).itemsize
    need = itemsize + sum((n - 1) * s for n, s in zip(shape, strides, strict=True))
    if need > raw.size or need % itemsize or any(s % itemsize for s in strides):
        raise ValueError(f"strides {strides} of {dtype} do not fit the {raw.size} bytes read")
    view = np.lib.stride_tricks.as_strided(raw[:need].view(dtype), shape, strides,
                                           writeable=False)
    return np.ascontiguousarray(view)


def widen(array: np.ndarray, type_name: str) -> np.ndarray:
    """float32 for ``f16`` and ``bf16`` (stored as the top half of a float32), else as is."""
    if type_name == "bf16":
        return bf16_bits_to_float32(array)
    if type_name == "f16":
        return array.astype(np.float32)
    return array


def _bind(lib: Any, name: str, restype: Any, argtypes: list[Any]) -> Any:
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = argtypes
    return fn
