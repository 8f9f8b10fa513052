"""Copy a GGUF file with metadata values set and tensor rows reordered, atomically.

The copy keeps every key/value field (with its GGUF value type), every tensor's type and
bytes: rows are moved as stored, so a quantized tensor (Q8_0 blocks run along a row) is
reordered without requantizing. Written like gguf-py's ``gguf_new_metadata`` script does,
to a temporary file beside the target that is renamed over it on success.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_path
from ..errors import InputError


def rewrite_gguf(src: str | Path, out: str | Path, set_metadata: dict[str, tuple[Any, str]],
                 reorder_rows: dict[str, np.ndarray]) -> None:
    """Write ``src`` to ``out`` with ``set_metadata`` applied and rows reordered.

    Parameters
    ----------
    set_metadata : dict
        GGUF key -> (value, GGUF value type name such as ``FLOAT32``); a key already in the
        file keeps its stored type, a new one gets the type named.
    reorder_rows : dict
        Tensor name -> row index (``new_rows = old_rows[index]``, along the outermost axis).
    """
    import gguf

    reader = gguf.GGUFReader(src)
    arch = next((f.contents() for f in reader.fields.values()
                 if f.name == gguf.Keys.General.ARCHITECTURE), None)
    if arch is None:
        raise InputError(src, "GGUF file without general.architecture; cannot rewrite it")
    pending = dict(set_metadata)
    with atomic_path(out) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        writer = gguf.GGUFWriter(tmp, arch, endianess=reader.endianess)
        for field in reader.fields.values():
            if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
                continue
            vtype = field.types[0]
            sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
            value = pending.pop(field.name, (field.contents(), None))[0]
            if sub is not None and not isinstance(value, list):  # per-layer array, one value
                value = [value] * len(field.data)
            if field.name == gguf.Keys.General.ALIGNMENT:
                writer.data_alignment = int(value)
            writer.add_key_value(field.name, value, vtype, sub_type=sub)
        for key, (value, vtype) in pending.items():
            writer.add_key_value(key, value, gguf.GGUFValueType[vtype])
        for t in reader.tensors:
            writer.add_tensor_info(t.name, t.data.shape, t.data.dtype, t.data.nbytes,
                                   t.tensor_type)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for t in reader.tensors:
            data = t.data
            if t.name in reorder_rows:
                data = np.take(np.asarray(data), reorder_rows[t.name], axis=0)
            writer.write_tensor_data(data, tensor_endianess=reader.endianess)
        writer.close()
