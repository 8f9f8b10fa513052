"""Which file a compare read: size, modification time and a hash of its first MiB.

A trace rewritten by a new port revision gets a new fingerprint even when its path stays the
same, so the history can tell revisions apart without storing the traces.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HASHED_BYTES = 1 << 20
"""Bytes hashed from the start of a file (the header and first tensors of a trace)."""


@dataclass(frozen=True)
class Fingerprint:
    """A file (or a ``.npy`` directory) as it was when a compare read it.

    path : absolute (a history outlives the working directory it was recorded from).
    bytes : total size (bytes; a directory: its files summed); None when unreadable.
    mtime_utc : last modification, ISO 8601 UTC (a directory: its newest file).
    sha256_1mib : hex SHA-256 of the first :data:`HASHED_BYTES` bytes (a directory: of its
        listing, each file's relative name, size and mtime).
    """

    path: str
    bytes: int | None
    mtime_utc: str | None
    sha256_1mib: str | None

    def to_json(self) -> dict:
        return {"path": self.path, "bytes": self.bytes, "mtime_utc": self.mtime_utc,
                "sha256_1mib": self.sha256_1mib}


def _utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


def _directory(path: Path) -> Fingerprint:
    digest, total, newest = hashlib.sha256(), 0, 0.0
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            st = (Path(root) / name).stat()
            rel = (Path(root) / name).relative_to(path).as_posix()
            digest.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8",
                                                                            "surrogateescape"))
            total, newest = total + st.st_size, max(newest, st.st_mtime)
    return Fingerprint(str(path), total, _utc(newest) if newest else None, digest.hexdigest())


def fingerprint(path: str | Path) -> Fingerprint:
    """The fingerprint of ``path``; a file that cannot be read gets None fields (the compare
    that read it succeeded, so this only happens when it vanished since)."""
    p = Path(path).absolute()
    try:
        if p.is_dir():
            return _directory(p)
        with open(p, "rb") as fh:
            head = fh.read(HASHED_BYTES)
            st = os.fstat(fh.fileno())
    except OSError:
        return Fingerprint(str(p), None, None, None)
    return Fingerprint(str(p), st.st_size, _utc(st.st_mtime), hashlib.sha256(head).hexdigest())
