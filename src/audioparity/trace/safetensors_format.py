"""Native trace format: one ``.safetensors`` file, execution order in ``__metadata__``.

The reader parses the (tiny, documented) header itself and memory-maps the data, so it
needs no deep-learning framework and handles bfloat16 (which NumPy lacks) by widening to
float32 on read. The writer streams: tensors go to disk as they arrive, the header is
written when the trace is closed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
import os
import stat
import struct
import threading
from pathlib import Path
from typing import Any, Self

import numpy as np

from ..atomic import atomic_path
from ..errors import InputError
from .base import (
    TensorInfo,
    Trace,
    bf16_bits_to_float32,
    drop_pages,
    float32_to_bf16_bits,
    ordered,
    resolve_repeats,
)

ORDER_KEY = "audioparity.order"
META_KEY = "audioparity.meta"

_ST_TO_NP = {
    "F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
    "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8",
    "U64": "uint64", "U32": "uint32", "U16": "uint16", "U8": "uint8", "BOOL": "bool",
    "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2", "C64": "complex64",
}
_NP_TO_ST = {v: k for k, v in _ST_TO_NP.items()}
_STORAGE = {"bfloat16": np.uint16, "float8_e4m3fn": np.uint8, "float8_e5m2": np.uint8}
#: complex dtypes are read as their real ``[..., 2]`` view (what the torch capture stores)
_COMPLEX = {"complex64": "float32", "complex128": "float64"}
_MAX_HEADER = 256 * 1024 * 1024


class SafetensorsTrace(Trace):
    """A memory-mapped ``.safetensors`` file."""

    def __init__(self, path: str | Path):
        super().__init__(Path(path))
        header, self._data_start = _read_header(self.path)
        repeated = header.pop("__repeated__", [])
        raw_meta = header.pop("__metadata__", None) or {}
        if not isinstance(raw_meta, dict):
            raise InputError(self.path, "corrupt safetensors header (__metadata__ is not an "
                                        "object)")
        order = _json_field(self.path, raw_meta, ORDER_KEY, list)
        self.meta = _json_field(self.path, raw_meta, META_KEY, dict) or {}
        self.meta.setdefault("file_metadata", {k: v for k, v in raw_meta.items()
                                               if k not in (ORDER_KEY, META_KEY)})
        size = self.path.stat().st_size - self._data_start
        self._spans: dict[str, tuple[int, int]] = {}
        infos: dict[str, TensorInfo] = {}
        for name, entry in header.items():
            infos[name] = _parse_entry(self.path, name, entry, size)
            self._spans[name] = tuple(entry["data_offsets"])
        if repeated:
            self.meta.setdefault("notes", []).append(
                f"{self.path.name}: the header names {', '.join(repr(n) for n in repeated[:3])}"
                " more than once (JSON allows it; the stock loader keeps only the last): read "
                "in header order as NAME, NAME#1, …")
        hole = _check_spans(self.path, self._spans, size)
        if hole:
            self.meta.setdefault("notes", []).append(hole)
        if order is not None:
            notes: list[str] = []
            order = resolve_repeats(order, infos, notes, ORDER_KEY)
            if notes:
                self.meta.setdefault("notes", []).extend(notes)
        qtypes = self.meta.get("qtypes")  # name -> GGUF type of the quantized weights a
        if isinstance(qtypes, dict):      # tensor was computed from (llama.cpp captures)
            infos = {n: dataclasses.replace(i, qtype=str(qtypes[n])) if n in qtypes else i
                     for n, i in infos.items()}
        self._infos = {n: infos[n] for n in ordered(list(infos), order)}
        self._map: np.memmap | None = None

    def _read(self, name: str) -> np.ndarray:
        if self._map is None:
            if os.path.getsize(self.path) == self._data_start:
                self._map = np.zeros(0, np.uint8)  # all tensors empty; mmap of 0 bytes fails
            else:
                self._map = np.memmap(self.path, dtype=np.uint8, mode="r")
        info = self._infos[name]
        begin, end = self._spans[name]
        raw = self._map[self._data_start + begin: self._data_start + end]
        if info.from_complex is not None:
            return raw.view(info.from_complex).view(info.dtype).reshape(info.shape)
        storage = _STORAGE.get(info.dtype, info.dtype)
        arr = raw.view(storage).reshape(info.shape)
        if info.dtype == "bfloat16":
            return bf16_bits_to_float32(arr)
        if info.dtype.startswith("float8"):
            return _float8_to_float32(self.path, arr, info.dtype)
        return arr

    def close(self) -> None:
        self._map = None

    def release(self, name: str | None = None) -> None:
        if name is None:
            drop_pages(self._map)
        else:
            begin, end = self._spans[name]
            drop_pages(self._map, (self._data_start + begin, self._data_start + end))


def _json_field(path: Path, raw_meta: dict, key: str, kind: type) -> Any:
    """The JSON value stored under ``key`` in ``__metadata__``, checked to be a ``kind``."""
    if key not in raw_meta:
        return None
    try:
        value = json.loads(raw_meta[key])
    except (json.JSONDecodeError, TypeError, RecursionError) as exc:
        raise InputError(path, f"{key} metadata is not JSON: {exc}") from None
    if not isinstance(value, kind) or (kind is list and not all(isinstance(v, str)
                                                                for v in value)):
        raise InputError(path, f"{key} metadata is not a JSON {kind.__name__}"
                               + (" of names" if kind is list else ""))
    return value


def _read_header(path: Path) -> tuple[dict[str, Any], int]:
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise InputError(path, "not a safetensors file (shorter than its 8-byte header length)")
            (n,) = struct.unpack("<Q", head)
            total = os.fstat(fh.fileno()).st_size
            if n == 0 or n > _MAX_HEADER or 8 + n > total:
                raise InputError(path, f"not a safetensors file or truncated (header length {n}, "
                                       f"file size {total})")
            blob = fh.read(n)
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    try:
        header = json.loads(blob, object_pairs_hook=_KeyedPairs)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise InputError(path, "corrupt safetensors header (not JSON)") from None
    if not isinstance(header, dict):
        raise InputError(path, "corrupt safetensors header (not a JSON object)")
    return header.distinct(), 8 + n


class _KeyedPairs(dict):
    """A JSON object that remembers every pair, repeated keys included (JSON allows them;
    ``json.loads`` would keep only the last, losing a tensor silently)."""

    def __init__(self, pairs: list[tuple[str, Any]]):
        super().__init__(pairs)
        self.pairs = pairs

    def distinct(self) -> dict[str, Any]:
        """The pairs in order, the k-th repeat of a tensor name renamed ``NAME#k``."""
        out: dict[str, Any] = {}
        seen: dict[str, int] = {}
        for key, value in self.pairs:
            k = seen.get(key, 0)
            seen[key] = k + 1
            out[key if k == 0 or key == "__metadata__" else f"{key}#{k}"] = value
        repeated = [key for key, count in seen.items() if count > 1 and key != "__metadata__"]
        if repeated:
            out["__repeated__"] = repeated
        return out


def _parse_entry(path: Path, name: str, entry: Any, size: int) -> TensorInfo:
    try:
        st_dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    except (KeyError, TypeError):
        raise InputError(path, f"corrupt safetensors header entry for '{name}'") from None
    if not isinstance(st_dtype, str) or st_dtype not in _ST_TO_NP:
        raise InputError(path, f"tensor '{name}' has unsupported dtype {str(st_dtype)[:40]}")
    if not (isinstance(shape, list) and all(_is_count(s) for s in shape)):
        raise InputError(path, f"tensor '{name}': shape is not a list of sizes")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_count, offsets))):
        raise InputError(path, f"tensor '{name}': data_offsets is not [begin, end]")
    begin, end = offsets
    dtype = _ST_TO_NP[st_dtype]
    itemsize = np.dtype(_STORAGE.get(dtype, dtype)).itemsize
    numel = math.prod(shape)
    if begin > end or end - begin != numel * itemsize:
        raise InputError(path, f"tensor '{name}': data offsets [{begin}, {end}] do not match "
                               f"shape {tuple(shape)} of {st_dtype}")
    if end > size:
        raise InputError(path, f"truncated or out of bounds: tensor '{name}' ends at byte "
                               f"{end} of {size}")
    if dtype in _COMPLEX:
        return TensorInfo(name, (*shape, 2), _COMPLEX[dtype], from_complex=dtype)
    return TensorInfo(name, tuple(shape), dtype)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2 ** 62


def _check_spans(path: Path, spans: dict[str, tuple[int, int]], size: int) -> str | None:
    """Refuse tensors whose data overlap (the format forbids it; a writer bug or forgery).

    Data may lie in any order relative to the header's. Bytes no tensor uses (the format
    forbids holes too, but they harm no reading) are returned as a note.
    """
    previous_name, previous_end, used = None, 0, 0
    for name, (begin, end) in sorted(spans.items(), key=lambda kv: kv[1]):
        if begin == end:
            continue
        if begin < previous_end:
            raise InputError(path, f"tensors '{previous_name}' and '{name}' overlap in the data "
                                   f"section (bytes {begin}..{previous_end}): a corrupt or "
                                   "forged safetensors file")
        previous_name, previous_end = name, end
        used += end - begin
    if used < size:
        return (f"{path.name}: {size - used} bytes of the data section belong to no tensor "
                "(the safetensors format forbids holes; the stock loader refuses this file)")
    return None


def _float8_to_float32(path: Path, bits: np.ndarray, dtype: str) -> np.ndarray:
    try:
        import ml_dtypes
    except ImportError:
        raise InputError(path, f"reading {dtype} needs the ml_dtypes package") from None
    return bits.view(getattr(ml_dtypes, dtype)).astype(np.float32)


#: a trace is kept in memory until its data pass this many bytes (small traces are then
#: written in one go, with a compact header, and never copied)
_BUFFER_BYTES = 4 * 1024 * 1024
#: the header area reserved when data start streaming to disk: at least this, or enough for
#: 32 times the header entries seen so far (a trace's header is ~200 bytes per tensor)
_MIN_RESERVE = 256 * 1024
_PAGE = 4096
_SHIFT_CHUNK = 16 * 1024 * 1024


class TraceWriter:
    """Stream tensors into a native trace file; the file appears (atomically) on :meth:`close`.

    Tensor data go straight to a temporary file beside the target, behind a header area
    reserved (spaces; the format allows trailing whitespace in its JSON header) when the first
    4 MiB of data are in; the header is written into that area at :meth:`close` and the file
    renamed into place. A header that outgrows its area is made room for by shifting the data
    once. A trace smaller than 4 MiB is kept in memory and written in one go with a compact
    header. Memory holds at most 4 MiB plus one tensor. A large file replaced at ``path`` is
    freed by a background thread after the (still atomic) rename. ``dtype="bfloat16"`` stores
    float tensors as bf16.

    >>> with TraceWriter("ref.safetensors", meta={"model": "demo"}) as w:
    ...     w.add("model.embed_tokens", np.zeros((1, 4, 8), np.float32))
    """

    def __init__(self, path: str | Path, meta: dict[str, Any] | None = None):
        self.path = Path(path)
        self.meta = dict(meta or {})
        #: (name, safetensors dtype, shape, bytes) per tensor, in the order added
        self._entries: list[tuple[str, str, tuple[int, ...], int]] = []
        self._names: set[str] = set()
        self._atomic = atomic_path(self.path)
        self._final_tmp = self._atomic.__enter__()
        try:
            self._file = open(self._final_tmp, "w+b")  # noqa: SIM115 - closed in close()/abort()
        except OSError as exc:
            self._atomic.__exit__(type(exc), exc, exc.__traceback__)
            raise InputError(self.path, f"cannot write here: {exc.strerror or exc}") from None
        self._buffer: io.BytesIO | None = io.BytesIO()  # None once data stream to the file
        self._reserve = 0  # header bytes reserved in the file (0: not streaming yet)
        self._sink: Any = self._buffer
        self._done = False  # closed or aborted
        self.bytes_written = 0

    def __contains__(self, name: str) -> bool:
        return name in self._names

    def add(self, name: str, array: np.ndarray, dtype: str | None = None) -> None:
        """Append one tensor. ``dtype`` converts before storing (``"bfloat16"`` supported)."""
        if name in self._names:
            raise ValueError(f"duplicate tensor name {name!r}")
        if self._done:
            raise ValueError(f"{self.path}: the trace writer is closed")
        arr = array if type(array) is np.ndarray else np.asarray(array)
        plan = _STORE_PLANS.get((arr.dtype, dtype))
        if plan is None:
            if arr.dtype.kind == "c":  # stored as its real [..., 2] view, as the torch capture does
                arr = np.ascontiguousarray(arr).view(arr.real.dtype).reshape(*arr.shape, 2)
            plan = _store_plan(arr.dtype, dtype, name)
        how, target, st_dtype = plan
        if how == "raw":
            payload = arr if arr.flags.c_contiguous else np.ascontiguousarray(arr)
        elif how == "bf16":
            payload = float32_to_bf16_bits(arr.astype(np.float32, copy=False))
        else:
            payload = np.ascontiguousarray(arr, dtype=target)
        nbytes = payload.nbytes
        if nbytes:
            self._sink.write(payload)  # the array's own buffer: no intermediate bytes object
        self._entries.append((name, st_dtype, arr.shape, nbytes))
        self._names.add(name)
        self.bytes_written += nbytes
        if self._buffer is not None and self.bytes_written > _BUFFER_BYTES:
            self._start_streaming()

    def _start_streaming(self) -> None:
        """Reserve the header area in the file and move the buffered data behind it."""
        assert self._buffer is not None
        guess = len(self._header_blob()) * 32
        # data start on a page boundary: 8 length bytes + the reserved header
        self._reserve = -(-(8 + max(guess, _MIN_RESERVE)) // _PAGE) * _PAGE - 8
        self._file.seek(8 + self._reserve)
        self._file.write(self._buffer.getbuffer())
        self._buffer = None
        self._sink = self._file

    def _header_blob(self) -> bytes:
        header: dict[str, Any] = {}
        offset = 0
        for name, st_dtype, shape, nbytes in self._entries:
            header[name] = {"dtype": st_dtype, "shape": list(shape),
                            "data_offsets": [offset, offset + nbytes]}
            offset += nbytes
        header["__metadata__"] = {ORDER_KEY: json.dumps([e[0] for e in self._entries]),
                                  META_KEY: json.dumps(self.meta)}
        blob = json.dumps(header, separators=(",", ":")).encode()
        return blob + b" " * (-len(blob) % 8)

    def close(self) -> None:
        """Write the header (and any buffered data), then move the file into place atomically."""
        if self._done:
            return
        self._done = True
        try:
            blob = self._header_blob()
            if self._buffer is not None:  # small trace: compact header, data from memory
                self._file.write(struct.pack("<Q", len(blob)))
                self._file.write(blob)
                self._file.write(self._buffer.getbuffer())
                self._buffer = None
            else:
                if len(blob) > self._reserve:
                    self._file.flush()
                    _shift_data(self._file.fileno(), 8 + self._reserve, len(blob) - self._reserve)
                else:
                    blob += b" " * (self._reserve - len(blob))
                self._file.seek(0)
                self._file.write(struct.pack("<Q", len(blob)))
                self._file.write(blob)
            self._file.close()
        except BaseException as exc:
            self._file.close()
            self._atomic.__exit__(type(exc), exc, exc.__traceback__)
            raise
        previous = _keep_previous(self.path, self._final_tmp)
        try:
            self._atomic.__exit__(None, None, None)
        finally:
            if previous is not None:
                _unlink_in_background(previous)

    def abort(self) -> None:
        """Discard everything written so far; no file appears."""
        if self._done:
            return
        self._done = True
        self._file.close()
        self._buffer = None
        try:
            self._atomic.__exit__(RuntimeError, RuntimeError("aborted"), None)
        except RuntimeError:
            pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


#: (NumPy dtype, requested dtype) -> (how, NumPy dtype name stored, safetensors dtype);
#: filled as dtypes are met, so ``add`` costs one dict look-up per tensor
_STORE_PLANS: dict[tuple[np.dtype, str | None], tuple[str, str, str]] = {}


def _store_plan(source: np.dtype, dtype: str | None, name: str) -> tuple[str, str, str]:
    """How to store an array of dtype ``source`` as ``dtype`` (None: as it is)."""
    key = (source, dtype)
    target = dtype or ("bfloat16" if source.name == "bfloat16" else source.name)
    if target == "bfloat16":
        how = "bf16"
    elif target not in _NP_TO_ST:
        raise ValueError(f"cannot store dtype {target} for {name!r}")
    else:
        how = "raw" if np.dtype(target) == source and source.kind != "c" else "convert"
    plan = (how, target, _NP_TO_ST[target])
    if source.kind != "c":  # complex arrays are re-viewed first; their plan is the view's
        _STORE_PLANS[key] = plan
    return plan


def _keep_previous(target: Path, tmp: Path) -> Path | None:
    """A second name (hidden, beside ``tmp``) for a large file at ``target`` about to be replaced.

    Replacing a file frees its blocks and pages inside the rename (~20 ms per 50 MB); with a
    second name the rename only drops a link, and the freeing is left to a thread (the
    unlink releases the GIL) while the caller goes on. The replacement stays atomic.
    """
    try:
        st = os.stat(target, follow_symlinks=False)
        if not stat.S_ISREG(st.st_mode) or st.st_size < _BUFFER_BYTES:
            return None
        previous = tmp.with_suffix(".old")
        os.link(target, previous, follow_symlinks=False)
    except OSError:  # no file yet, or hard links not supported here: replace as usual
        return None
    return previous


def _unlink_in_background(path: Path) -> None:
    """Remove ``path`` in a (non-daemon: the interpreter waits for it at exit) thread."""

    def unlink() -> None:
        with contextlib.suppress(OSError):
            path.unlink()

    threading.Thread(target=unlink, name="audioparity-unlink").start()


def _shift_data(fd: int, start: int, delta: int) -> None:
    """Move the bytes from ``start`` to the end of file ``fd`` up by ``delta`` bytes (from the
    end backwards, so no byte is overwritten before it is moved)."""
    end = os.fstat(fd).st_size
    pos = end
    while pos > start:
        begin = max(start, pos - _SHIFT_CHUNK)
        chunk = os.pread(fd, pos - begin, begin)
        os.pwrite(fd, chunk, begin + delta)
        pos = begin


def write_trace(path: str | Path, tensors: dict[str, np.ndarray],
                meta: dict[str, Any] | None = None) -> Path:
    """Write ``tensors`` (in dict order = execution order) as a native trace file."""
    with TraceWriter(path, meta) as writer:
        for name, arr in tensors.items():
            writer.add(name, arr)
    return Path(path)
