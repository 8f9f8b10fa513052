"""Tell a file's format from its first bytes, whatever its name says.

A port's dump is often misnamed (``np.savez`` to a file object named ``.safetensors``, a WAV
passed where a trace was expected). :func:`sniff_format` reads at most a few hundred bytes
and returns a short format key; :data:`DESCRIPTIONS` says it in words for error messages
("this is a RIFF/WAVE file").

>>> import numpy as np, tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "x.safetensors"
>>> with open(p, "wb") as fh:
...     np.save(fh, np.zeros(3))
>>> sniff_format(p)
'npy'
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

#: format key -> how an error message names it
DESCRIPTIONS = {
    "safetensors": "a safetensors file",
    "npy": "a NumPy .npy file",
    "npz": "a NumPy .npz archive (ZIP of .npy members)",
    "torch": "a torch.save archive (ZIP with data.pkl)",
    "zip": "a ZIP archive with neither .npy members nor torch's data.pkl",
    "pickle": "a Python pickle",
    "gguf": "a GGUF file",
    "wav": "a RIFF/WAVE audio file",
    "flac": "a FLAC audio file",
    "ogg": "an Ogg audio file",
    "mp3": "an MP3 audio file",
    "json": "a JSON text file",
    "text": "a text file",
    "hdf5": "an HDF5 file",
    "onnx": "an ONNX model (protobuf)",
    "empty": "an empty file",
    "unknown": "not a format audioparity recognises",
}

#: formats :func:`audioparity.trace.open_trace` can read
TRACE_FORMATS = ("safetensors", "npy", "npz", "torch", "pickle", "gguf")

_SAFETENSORS_MAX_HEADER = 256 * 1024 * 1024


def sniff_format(path: str | Path) -> str:
    """Return the format key of ``path`` judged from its content (see :data:`DESCRIPTIONS`).

    Reads the first 64 bytes (and, for a ZIP, its central directory). Never raises for
    content; an unreadable file raises :class:`OSError`.
    """
    p = Path(path)
    with open(p, "rb") as fh:
        head = fh.read(64)
        size = fh.seek(0, 2)
    return _from_head(p, head, size)


def _from_head(p: Path, head: bytes, size: int) -> str:
    if not head:
        return "empty"
    # first: a safetensors header length can begin with any byte (0x80 0x02 reads as pickle)
    if len(head) >= 9 and _looks_like_safetensors(head, size):
        return "safetensors"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith(b"GGUF"):
        return "gguf"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(p)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE" or head[:4] in (b"RF64", b"BW64"):
        return "wav"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "mp3"
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return "hdf5"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "pickle"
    if head[:2] == b"\x08\x07" or head[:2] == b"\x08\x08" or head[:2] == b"\x08\x06":
        return "onnx"  # ir_version field of an ONNX ModelProto
    return _text_kind(head)


def _looks_like_safetensors(head: bytes, size: int) -> bool:
    (n,) = struct.unpack("<Q", head[:8])
    return 0 < n <= _SAFETENSORS_MAX_HEADER and 8 + n <= size and head[8:9] == b"{"


def _zip_kind(p: Path) -> str:
    try:
        with zipfile.ZipFile(p) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError, IndexError,
            NotImplementedError, UnicodeDecodeError):
        return "zip"
    if any(n.endswith("data.pkl") for n in names):
        return "torch"
    if names and any(n.endswith(".npy") for n in names):
        return "npz"
    return "zip"


def _text_kind(head: bytes) -> str:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # a multi-byte character cut at byte 64 is still text
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return "unknown"
    if not text or any(ord(c) < 9 or 13 < ord(c) < 32 for c in text):
        return "unknown"
    if text.lstrip()[:1] in ("{", "["):
        return "json"
    return "text"


def describe(key: str) -> str:
    """Words for a format key: ``describe("wav") == "a RIFF/WAVE audio file"``."""
    return DESCRIPTIONS.get(key, key)

