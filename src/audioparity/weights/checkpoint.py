"""Open a checkpoint of any format lazily: one file, or a sharded ``*.index.json`` set.

Single files go through :func:`audioparity.trace.open_trace` (safetensors memory-mapped,
GGUF dequantized with its quantization type kept, torch files with ``weights_only=True``,
``.npz``). A sharded set (``model.safetensors.index.json`` / ``pytorch_model.bin.index.json``,
or a directory holding one) opens each shard when a tensor of it is first read.

Memory stays bounded on big files: :meth:`Checkpoint.read` counts the bytes handed out and,
past :data:`REMAP_BYTES`, closes and reopens the underlying files so pages already compared
leave the process (a memory map keeps touched pages resident otherwise).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Self

import numpy as np

from ..errors import InputError
from ..trace import TensorInfo, Trace, open_trace

#: Bytes read through one open file before it is closed and reopened (bounds resident pages).
REMAP_BYTES = 64 * 1024 * 1024


class Checkpoint:
    """Named tensors of a checkpoint, read one at a time.

    Attributes
    ----------
    path : Path
        The file, index file or directory given.
    names : list[str]
        Tensor names in file order.
    """

    def __init__(self, path: Path, shards: dict[str, Path]):
        self.path = path
        self._shard_of = shards  # tensor name -> shard file
        self._open: dict[Path, Trace] = {}
        self._bytes: dict[Path, int] = {}
        self._infos: dict[str, TensorInfo] = {}
        for shard in dict.fromkeys(shards.values()):
            trace = self._trace(shard)
            for info in trace.infos():
                if shards.get(info.name) == shard:
                    self._infos[info.name] = info
        missing = [n for n in shards if n not in self._infos]
        if missing:
            raise InputError(path, f"index lists '{missing[0]}' but its shard does not hold it "
                                   f"({len(missing)} such tensors)")
        self.names = list(self._infos)

    def _trace(self, shard: Path) -> Trace:
        if shard not in self._open:
            self._open[shard] = open_trace(shard)
            self._bytes[shard] = 0
        return self._open[shard]

    def info(self, name: str) -> TensorInfo:
        return self._infos[name]

    def infos(self) -> list[TensorInfo]:
        return list(self._infos.values())

    def __contains__(self, name: object) -> bool:
        return name in self._infos

    def __len__(self) -> int:
        return len(self._infos)

    @property
    def format(self) -> str:
        """The file format of the (first) shard: ``safetensors``, ``gguf``, ``torch``, ``npz``."""
        suffix = next(iter(self._shard_of.values())).suffix.lower()
        return {".safetensors": "safetensors", ".gguf": "gguf", ".npz": "npz",
                ".npy": "npy"}.get(suffix, "torch" if suffix in (".pt", ".pth", ".bin", ".ckpt")
                                   else suffix.lstrip(".") or "npy-dir")

    def read(self, name: str) -> np.ndarray:
        """One tensor as a NumPy array (memory-mapped where the format allows)."""
        shard = self._shard_of[name]
        trace = self._trace(shard)
        if self._bytes[shard] > REMAP_BYTES:
            trace.close()
            del self._open[shard]
            trace = self._trace(shard)
        info = self._infos[name]
        self._bytes[shard] += info.numel * 4
        return trace.read(name)

    def close(self) -> None:
        for trace in self._open.values():
            trace.close()
        self._open.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_checkpoint(path: str | Path) -> Checkpoint:
    """Open a checkpoint file, a sharded ``*.index.json`` set, or a model directory.

    A directory is read as the sharded set its single ``*.index.json`` names, else as its
    single ``.safetensors`` file, else as a directory of ``.npy`` files.

    Raises
    ------
    InputError
        Missing, corrupt, truncated or empty input, an unsafe pickle, or an index naming
        shards that do not exist.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(p, "no such file or directory")
    if p.is_dir():
        indexes = sorted(p.glob("*.index.json"))
        singles = sorted(p.glob("*.safetensors"))
        if len(indexes) == 1:
            p = indexes[0]
        elif len(indexes) > 1:
            raise InputError(p, f"holds {len(indexes)} *.index.json files; name one")
        elif len(singles) == 1:
            p = singles[0]
    if p.name.endswith(".index.json"):
        return Checkpoint(p, _read_index(p))
    trace = open_trace(p)
    names = trace.names
    trace.close()
    return Checkpoint(p, dict.fromkeys(names, p))


def _read_index(path: Path) -> dict[str, Path]:
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
        weight_map = index["weight_map"]
        if not isinstance(weight_map, dict) or not weight_map:
            raise TypeError("empty")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
        raise InputError(path, "not a checkpoint index (expected JSON with a 'weight_map' "
                               "object naming each tensor's shard)") from None
    shards = {}
    for name, shard in weight_map.items():
        shard_path = path.parent / str(shard)
        if not shard_path.is_file():
            raise InputError(path, f"shard '{shard}' (for '{name}') does not exist")
        shards[str(name)] = shard_path
    return shards
