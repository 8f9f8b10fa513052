"""NumPy traces: a ``.npz`` archive, a directory of ``.npy`` files, or one ``.npy`` file.

``.npz`` order is archive order (what ``np.savez(**tensors)`` writes). A directory's order
comes from an optional ``order.txt`` (one name per line); names it omits follow in natural
order (``layers.2`` before ``layers.10``). A name may contain ``/``: ``@0/model.mlp`` is the
file ``@0/model.mlp.npy``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ..errors import InputError
from .base import TensorInfo, Trace, ordered


def _check_dtype(path: Path, name: str, dtype: np.dtype) -> str:
    if dtype.kind not in "fiub" or dtype.hasobject:
        raise InputError(path, f"tensor '{name}' has non-numeric dtype {dtype}")
    return dtype.name


class NpzTrace(Trace):
    """A ``.npz`` archive; each member is read (not mapped) when asked for."""

    def __init__(self, path: str | Path):
        super().__init__(Path(path))
        try:
            self._zip = zipfile.ZipFile(self.path)
            members = [m for m in self._zip.namelist() if m.endswith(".npy")]
            infos = {}
            for member in members:
                with self._zip.open(member) as fh:
                    version = np.lib.format.read_magic(fh)
                    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                                   else np.lib.format.read_array_header_2_0)
                    shape, _, dtype = read_header(fh)
                name = member[: -len(".npy")]
                infos[name] = TensorInfo(name, tuple(shape), _check_dtype(self.path, name, dtype))
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
            raise InputError(self.path, f"not a readable .npz archive ({exc})") from None
        self._infos = infos

    def _read(self, name: str) -> np.ndarray:
        try:
            with self._zip.open(name + ".npy") as fh:
                return np.lib.format.read_array(fh, allow_pickle=False)
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
            raise InputError(self.path, f"cannot read '{name}': {exc}") from None

    def close(self) -> None:
        self._zip.close()


def _npy_info(path: Path, name: str) -> tuple[TensorInfo, np.ndarray]:
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(path, f"not a readable .npy file ({exc})") from None
    if not isinstance(arr, np.ndarray):
        raise InputError(path, "not a .npy array")
    return TensorInfo(name, tuple(arr.shape), _check_dtype(path, name, arr.dtype)), arr


class NpyDirTrace(Trace):
    """A directory of ``.npy`` files (searched recursively), memory-mapped."""

    def __init__(self, path: str | Path):
        super().__init__(Path(path))
        files = {p.relative_to(self.path).with_suffix("").as_posix(): p
                 for p in self.path.rglob("*.npy")}
        order_file = self.path / "order.txt"
        order = None
        if order_file.exists():
            order = [ln.strip() for ln in order_file.read_text().splitlines() if ln.strip()]
        self._files = files
        self._infos = {n: _npy_info(files[n], n)[0] for n in ordered(list(files), order)}

    def _read(self, name: str) -> np.ndarray:
        return _npy_info(self._files[name], name)[1]


class NpyFileTrace(Trace):
    """One ``.npy`` file: a trace with a single tensor named after the file."""

    def __init__(self, path: str | Path):
        super().__init__(Path(path))
        info, self._arr = _npy_info(self.path, self.path.stem)
        self._infos = {info.name: info}

    def _read(self, name: str) -> np.ndarray:
        return self._arr
