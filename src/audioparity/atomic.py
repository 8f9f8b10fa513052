"""Atomic output files: write to a temporary file beside the target, then rename over it."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import InputError


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the target's directory; rename it to ``path`` on success.

    On any error the temporary file is removed and ``path`` is left as it was, so a
    half-written output never exists under its final name. A target that is a directory or
    cannot be created raises :class:`~audioparity.errors.InputError` (one line, exit 2).
    """
    target = Path(path)
    if target.is_dir():
        raise InputError(target, "is a directory: give a file name for this output")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise InputError(target, f"cannot write here: {exc.strerror or exc}") from None
    tmp_path = Path(tmp)
    try:
        # mkstemp creates 0600; an output gets the mode an ordinary open() would give it
        os.fchmod(fd, output_mode(target))
    finally:
        os.close(fd)
    try:
        yield tmp_path
        try:
            os.replace(tmp_path, target)
        except OSError as exc:
            raise InputError(target, f"cannot write here: {exc.strerror or exc}") from None
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def current_umask() -> int:
    """The process umask, read without changing it where Linux allows (``/proc``)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def output_mode(target: Path) -> int:
    """Permission bits for a new output at ``target``: an existing file's own mode is kept,
    else ``0o666`` less the umask (what ``open(target, "w")`` would create)."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        return 0o666 & ~current_umask()


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
