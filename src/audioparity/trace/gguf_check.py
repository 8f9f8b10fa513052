"""Bounds check of a GGUF file's header before the ``gguf`` package parses it.

``gguf.GGUFReader`` trusts every count in the file: an array whose length field says 2^60
with its items past the end of the file makes it loop (and grow a list) practically forever.
:func:`check_gguf_header` walks the same structure first with
:func:`~audioparity.trace.gguf_layout.read_gguf_layout` — key/value metadata, then tensor
infos — which refuses any count that the bytes left in the file cannot hold, in time
proportional to the file's size.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .gguf_layout import read_gguf_layout


def check_gguf_header(path: Path) -> None:
    """Raise :class:`InputError` when a count in the header cannot fit in the file."""
    try:
        read_gguf_layout(path, max_items=0)  # no array decoded: only walked
    except ValueError as exc:
        raise InputError(path, f"not a readable GGUF file ({exc})") from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
