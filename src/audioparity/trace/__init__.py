"""Traces: named tensors in execution order, read lazily from any format a port can write.

Formats (chosen by suffix, or magic bytes when the suffix says nothing):
native ``.safetensors`` (order in ``__metadata__``), ``.npz``, a directory of ``.npy`` files,
one ``.npy``, a torch ``.pt/.pth/.bin`` dict (``weights_only``), and ``.gguf`` (dequantized).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .base import TensorInfo, Trace, natural_key
from .safetensors_format import SafetensorsTrace, TraceWriter, write_trace

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


def _open_file(p: Path) -> Trace:
    try:
        with open(p, "rb") as fh:
            magic = fh.read(8)
    except OSError as exc:
        raise InputError(p, f"cannot read: {exc.strerror or exc}") from None
    suffix = p.suffix.lower()
    if suffix == ".gguf" or magic[:4] == b"GGUF":
        from .gguf_format import GGUFTrace

        return GGUFTrace(p)
    if suffix == ".npz":
        from .numpy_formats import NpzTrace

        return NpzTrace(p)
    if suffix == ".npy" or magic[:6] == b"\x93NUMPY":
        from .numpy_formats import NpyFileTrace

        return NpyFileTrace(p)
    if suffix in (".pt", ".pth", ".bin", ".ckpt") or magic[:2] == b"PK":
        from .torch_format import TorchTrace

        return TorchTrace(p)
    if suffix == ".safetensors" or len(magic) == 8:
        return SafetensorsTrace(p)
    raise InputError(p, "unrecognised trace format (expected .safetensors, .npz, .npy, "
                        "a .npy directory, .pt or .gguf)")
