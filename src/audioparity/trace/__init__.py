"""Traces: named tensors in execution order, read lazily from any format a port can write.

Formats (chosen by content — see :mod:`.sniff` — and by suffix only when content cannot tell):
native ``.safetensors`` (order in ``__metadata__``), ``.npz``, a directory of ``.npy`` files,
one ``.npy``, a torch ``.pt/.pth/.bin`` dict (``weights_only``), and ``.gguf`` (dequantized).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .base import TensorInfo, Trace, natural_key
from .safetensors_format import SafetensorsTrace, TraceWriter, write_trace
from .sniff import TRACE_FORMATS, describe, sniff_format

__all__ = ["TensorInfo", "Trace", "TraceWriter", "natural_key", "open_trace", "write_trace"]


def open_trace(path: str | Path) -> Trace:
    """Open a trace of any supported format; only headers are read.

    Raises :class:`~audioparity.errors.InputError` (one line: file and problem) for a
    missing, unreadable, corrupt or empty input.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(p, "no such file or directory")
    if p.is_dir():
        from .numpy_formats import NpyDirTrace

        trace: Trace = NpyDirTrace(p)
    else:
        trace = _open_file(p)
    if len(trace) == 0:
        trace.close()
        raise InputError(p, "trace is empty (no tensors)")
    return trace


_SUFFIX_FORMAT = {".gguf": "gguf", ".npz": "npz", ".npy": "npy", ".pt": "torch",
                  ".pth": "torch", ".bin": "torch", ".ckpt": "torch",
                  ".safetensors": "safetensors"}
_EXPECTED = ("expected a trace: .safetensors, .npz, .npy, a .npy directory, .pt or .gguf")
_AUDIO = ("wav", "flac", "ogg", "mp3")


def _open_file(p: Path) -> Trace:
    """Open one file by what its content is; the suffix decides only when content cannot."""
    try:
        sniffed = sniff_format(p)
    except OSError as exc:
        raise InputError(p, f"cannot read: {exc.strerror or exc}") from None
    named = _SUFFIX_FORMAT.get(p.suffix.lower())
    if sniffed == "empty":
        raise InputError(p, "file is empty (0 bytes)")
    if sniffed in TRACE_FORMATS:
        fmt = sniffed
    elif named is not None and sniffed in ("unknown", "zip"):
        fmt = named  # damaged or raw: the reader the name asks for says what is wrong
    else:
        raise InputError(p, _not_a_trace(p, sniffed, named))
    misnamed = named is not None and named != fmt and not (named == "torch" and
                                                            fmt == "pickle")
    try:
        trace = _READERS[fmt](p)
    except InputError as exc:
        if not misnamed:
            raise
        raise InputError(p, f"named {p.suffix} but its content looks like {describe(fmt)}, "
                            f"which does not read either: {exc.problem}") from None
    if misnamed:
        trace.meta.setdefault("notes", []).append(
            f"{p.name}: named {p.suffix} but holds {describe(fmt)}; read as such")
    return trace


def _not_a_trace(path: Path, sniffed: str, named: str | None) -> str:
    real = f"this is {describe(sniffed)}"
    claimed = f", not {describe(named)} as its name says" if named else ""
    if sniffed in _AUDIO:
        return f"{real}{claimed}: audio is compared with 'audioparity audio compare'"
    if sniffed == "text" and _is_lfs_pointer(path):
        return "this is a Git LFS pointer, not the file it points to: run 'git lfs pull'"
    return f"{real}{claimed} ({_EXPECTED})"


def _is_lfs_pointer(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(24) == b"version https://git-lfs."
    except OSError:
        return False


def _read_safetensors(p: Path) -> Trace:
    return SafetensorsTrace(p)


def _read_npz(p: Path) -> Trace:
    from .numpy_formats import NpzTrace

    return NpzTrace(p)


def _read_npy(p: Path) -> Trace:
    from .numpy_formats import NpyFileTrace

    return NpyFileTrace(p)


def _read_torch(p: Path) -> Trace:
    from .torch_format import TorchTrace

    return TorchTrace(p)


def _read_gguf(p: Path) -> Trace:
    from .gguf_format import GGUFTrace

    return GGUFTrace(p)


_READERS = {"safetensors": _read_safetensors, "npz": _read_npz, "npy": _read_npy,
            "torch": _read_torch, "pickle": _read_torch, "gguf": _read_gguf}
