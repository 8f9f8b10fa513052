"""Read token ids or logits from the files a port can write: ``.npy``, ``.npz``, ``.pt``
(``weights_only``), ``.safetensors``, and for tokens also ``.txt`` (whitespace- or
comma-separated ids, one sequence or codebook per line) and ``.json`` (a nested list).

Multi-tensor files need ``name``; a file with one tensor needs nothing. Token ids come back
as ``int64``; a float file whose values are all whole numbers is accepted (a runtime that
only dumps float32 — the notes say so); one holding fractions is refused (logits or
activations passed by mistake).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError

_MAX_FLOAT_ID = 2 ** 24  # float32 holds every integer up to here exactly


@dataclass
class TokenFile:
    """Token ids read from ``path``: ``array`` (int64, as stored) and notes on the reading."""

    path: Path
    array: np.ndarray
    notes: list[str] = field(default_factory=list)


def read_tokens(path: str | Path, name: str | None = None) -> TokenFile:
    """Read one integer tensor of token ids from ``path`` (see the module doc for formats).

    Raises :class:`~audioparity.errors.InputError` for a missing or unreadable file, a
    0-d or empty tensor, a non-numeric dtype, or floats that are not whole numbers.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in (".txt", ".json") and p.is_file():
        array = _read_text(p) if suffix == ".txt" else _read_json(p, name)
    else:
        array = _read_tensor(p, name)
    _check_shape(p, array)
    notes: list[str] = []
    if array.dtype.kind == "f":
        finite = np.isfinite(array)
        if not finite.all() or np.any(array != np.round(array)):
            raise InputError(p, f"holds {array.dtype} values that are not whole numbers: "
                                "logits or activations, not token ids")
        if np.abs(array).max() > _MAX_FLOAT_ID:
            raise InputError(p, f"holds {array.dtype} ids above 2^24, which float32 cannot "
                                "store exactly")
        notes.append(f"ids stored as {array.dtype}; all are whole numbers")
    elif array.dtype.kind not in "iu":
        raise InputError(p, f"has dtype {array.dtype}, not integer token ids")
    return TokenFile(p, np.asarray(array, dtype=np.int64), notes)


def read_logits(path: str | Path, name: str | None = None) -> np.ndarray:
    """Read one float tensor of logits, ``[T, V]`` or ``[B, T, V]``, as float32."""
    p = Path(path)
    array = _read_tensor(p, name)
    _check_shape(p, array)
    if array.dtype.kind != "f":
        raise InputError(p, f"has dtype {array.dtype}, not float logits")
    if array.ndim not in (2, 3):
        raise InputError(p, f"logits must be [T, V] or [B, T, V], got shape "
                            f"{list(array.shape)}")
    return np.asarray(array, dtype=np.float32)


def _read_tensor(p: Path, name: str | None) -> np.ndarray:
    from ..trace import open_trace

    with open_trace(p) as trace:
        if name is not None:
            if name not in trace:
                shown = ", ".join(trace.names[:6])
                raise InputError(p, f"no tensor named {name!r} (has {shown})")
            key = name
        elif len(trace) == 1:
            key = trace.names[0]
        else:
            shown = ", ".join(trace.names[:4]) + (", …" if len(trace) > 4 else "")
            raise InputError(p, f"holds {len(trace)} tensors ({shown}): pick one with "
                                "--name")
        return np.array(trace.read(key))  # a copy: the file is closed on return


def _read_text(p: Path) -> np.ndarray:
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(p, f"cannot read as text: {exc}") from None
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.replace(",", " ").split()
        if not fields:
            continue
        try:
            rows.append([int(f) for f in fields])
        except ValueError:
            raise InputError(p, f"line {number} holds something that is not an integer id"
                             ) from None
    if not rows:
        raise InputError(p, "holds no token ids (empty or only blank lines)")
    if len({len(r) for r in rows}) > 1:
        raise InputError(p, "lines hold different numbers of ids (one sequence or codebook "
                            "per line, all the same length)")
    if len(rows) == 1:
        return np.asarray(rows[0], dtype=np.int64)
    return np.asarray(rows, dtype=np.int64).reshape(len(rows), -1)


def _read_json(p: Path, name: str | None) -> np.ndarray:
    try:
        obj = json.loads(p.read_text(encoding="utf-8"))
    except RecursionError:
        raise InputError(p, "not readable JSON (nested too deeply)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(p, f"not readable JSON ({exc})") from None
    if isinstance(obj, dict):
        keys = [k for k, v in obj.items() if isinstance(v, list)]
        if name is None and len(keys) != 1:
            raise InputError(p, f"a JSON object with {len(keys)} lists: pick one with --name")
        key = name if name is not None else keys[0]
        if key not in obj:
            raise InputError(p, f"no key {key!r}")
        obj = obj[key]
    try:
        array = np.asarray(obj)
    except ValueError:
        raise InputError(p, "nested lists of different lengths (ragged)") from None
    if array.dtype.kind not in "iuf" or array.dtype == object:
        raise InputError(p, "expected a (nested) list of integer ids")
    return array


def _check_shape(p: Path, array: np.ndarray) -> None:
    if array.dtype.kind not in "biuf":
        raise InputError(p, f"has non-numeric dtype {array.dtype}")
    if array.ndim == 0:
        raise InputError(p, "holds a 0-d scalar, not a sequence")
    if array.size == 0:
        raise InputError(p, f"is empty (shape {list(array.shape)})")
