"""Helpers that write real checkpoint files for the weights tests (GGUF via ``gguf``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType, GGUFWriter, quants


def write_gguf(path: Path, tensors: dict[str, np.ndarray], qtypes: dict[str, str]) -> Path:
    """Write ``tensors`` to a GGUF file, quantizing those named in ``qtypes`` with ``gguf``."""
    writer = GGUFWriter(str(path), "llama")
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        if name in qtypes:
            t = GGMLQuantizationType[qtypes[name]]
            data = quants.quantize(arr, t)  # rows along the last axis, as GGUF stores them
            writer.add_tensor(name, data, raw_shape=data.shape, raw_dtype=t)
        else:
            writer.add_tensor(name, arr)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
