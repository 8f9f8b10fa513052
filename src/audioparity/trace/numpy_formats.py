"""NumPy traces: a ``.npz`` archive, a directory of ``.npy`` files, or one ``.npy`` file.

``.npz`` order is archive order (what ``np.savez(**tensors)`` writes). A directory's order
comes from an optional ``order.txt`` (one name per line); names it omits follow in natural
order (``layers.2`` before ``layers.10``). A name may contain ``/``: ``@0/model.mlp`` is the
file ``@0/model.mlp.npy``.

Repeated names (graph dumpers reuse node names: llama.cpp's ``Qcur-0`` before and after
RoPE) are resolved by :func:`~audioparity.trace.base.resolve_repeats`: the k-th repeat in
``order.txt`` is the file ``NAME#k.npy`` when it exists, else the one ``NAME.npy`` (which a
dumper writing by name overwrote: it holds the last write) stands at the last repeat; a zip
member stored twice under one name (zip allows it) is read as ``NAME`` then ``NAME#1``. Each
case leaves a note in ``trace.meta["notes"]``.

Complex arrays (an STFT dumped as ``complex64``) are read as their real ``[..., 2]`` view,
the form the torch capture stores (``torch.view_as_real``).
"""

from __future__ import annotations

import contextlib
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import InputError
from .base import DAMAGED, TensorInfo, Trace, complex_as_real, ordered, resolve_repeats

_COMPLEX_REAL = {"complex64": "float32", "complex128": "float64"}


def _tensor_info(path: Path, name: str, shape: tuple[int, ...], dtype: np.dtype) -> TensorInfo:
    if dtype.hasobject or dtype.kind not in "fiubc" or dtype.fields is not None:
        raise InputError(path, f"tensor '{name}' has non-numeric dtype {dtype}")
    if dtype.kind == "c":
        if dtype.name not in _COMPLEX_REAL:
            raise InputError(path, f"tensor '{name}' has unsupported dtype {dtype}")
        return TensorInfo(name, (*shape, 2), _COMPLEX_REAL[dtype.name], from_complex=dtype.name)
    return TensorInfo(name, tuple(shape), dtype.name)


def _as_exposed(arr: np.ndarray) -> np.ndarray:
    """What a reader returns for a stored array: complex as its real ``[..., 2]`` view."""
    return complex_as_real(arr) if arr.dtype.kind == "c" else arr


class NpzTrace(Trace):
    """A ``.npz`` archive; each member is read (not mapped) when asked for."""

    def __init__(self, path: str | Path):
        super().__init__(Path(path))
        notes: list[str] = []
        try:
            self._zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, IndexError,
                NotImplementedError, UnicodeDecodeError) as exc:
            raise InputError(self.path, f"not a readable .npz archive ({exc})") from None
        try:
            self._members, self._infos = self._scan(notes)
        except InputError:
            self._zip.close()
            raise
        except DAMAGED as exc:  # any parse failure of damaged content is bad input
            self._zip.close()
            raise InputError(self.path, f"not a readable .npz archive ({_reason(exc)})") from None
        if notes:
            self.meta["notes"] = notes

    def _scan(self, notes: list[str]) -> tuple[dict, dict]:
        members: dict[str, zipfile.ZipInfo] = {}
        infos: dict[str, TensorInfo] = {}
        repeats: dict[str, int] = {}
        for member in self._zip.infolist():
            if not member.filename.endswith(".npy"):
                continue
            base = member.filename[: -len(".npy")]
            k = repeats.get(base, 0)
            repeats[base] = k + 1
            name = base if k == 0 else f"{base}#{k}"
            with self._zip.open(member) as fh, _quiet():
                version = np.lib.format.read_magic(fh)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, _, dtype = read_header(fh)
            info = _tensor_info(self.path, name, tuple(shape), dtype)
            if info.numel * dtype.itemsize > member.file_size * (2 if info.from_complex else 1):
                raise InputError(self.path, f"member '{member.filename}' is shorter than its "
                                            f"shape {tuple(shape)} needs (truncated)")
            members[name] = member
            infos[name] = info
        for base, count in repeats.items():
            if count > 1:
                notes.append(f"{self.path.name} stores '{base}.npy' {count} times (a zip "
                             f"may repeat a member name): read in archive order as '{base}', "
                             + ", ".join(f"'{base}#{k}'" for k in range(1, count)))
        return members, infos

    def _read(self, name: str) -> np.ndarray:
        try:
            with self._zip.open(self._members[name]) as fh, _quiet():
                return _as_exposed(np.lib.format.read_array(fh, allow_pickle=False))
        except DAMAGED as exc:  # damaged member data is bad input, whatever numpy raises
            raise InputError(self.path, f"cannot read '{name}': {_reason(exc)}") from None

    def close(self) -> None:
        self._zip.close()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence numpy's header warnings (a "Python 2" header, escapes in a damaged header's
    literal): a damaged header is refused in one line or read, never commented on stderr."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _reason(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [""])[0][:160]
    return text or type(exc).__name__


def _npy_info(path: Path, name: str) -> tuple[TensorInfo, np.ndarray]:
    try:
        with _quiet():
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except InputError:
        raise
    except DAMAGED as exc:  # numpy raises many types on damaged headers
        raise InputError(path, f"not a readable .npy file ({_reason(exc)})") from None
    if not isinstance(arr, np.ndarray):
        raise InputError(path, "not a .npy array")
    info = _tensor_info(path, name, tuple(arr.shape), arr.dtype)
    return info, _as_exposed(arr)


class NpyDirTrace(Trace):
    """A directory of ``.npy`` files (searched recursively), memory-mapped."""

    def __init__(self, path: str | Path):
        super().__init__(Path(path))
        files = {p.relative_to(self.path).with_suffix("").as_posix(): p
                 for p in self.path.rglob("*.npy") if p.is_file()}
        order_file = self.path / "order.txt"
        order = None
        notes: list[str] = []
        if order_file.is_file():
            try:
                text = order_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise InputError(order_file, f"cannot read as UTF-8 text: {_reason(exc)}") from None
            listed = [ln.strip() for ln in text.splitlines() if ln.strip()]
            order = resolve_repeats(listed, files, notes, "order.txt")
        self._files = files
        self._infos = {n: _npy_info(files[n], n)[0] for n in ordered(list(files), order)}
        if notes:
            self.meta["notes"] = notes

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
