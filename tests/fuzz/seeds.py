"""Valid files of every format the readers take, built with each format's own writer."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import numpy as np


def _tensors() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {"model.embed": rng.standard_normal((4, 8)).astype(np.float32),
            "model.layers.0": rng.standard_normal((2, 3, 4)).astype(np.float16),
            "model.ids": np.arange(6, dtype=np.int64),
            "model.spec": (rng.standard_normal((3, 2)) + 1j).astype(np.complex64)}


def _real(tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: v for k, v in tensors.items() if v.dtype.kind != "c"}


def _via_file(suffix: str, write) -> bytes:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"seed{suffix}"
        write(path)
        return path.read_bytes()


def native_safetensors() -> bytes:
    from audioparity.trace import write_trace

    return _via_file(".safetensors", lambda p: write_trace(p, _tensors(), {"model": "fuzz"}))


def stock_safetensors() -> bytes:
    from safetensors.numpy import save_file

    return _via_file(".safetensors", lambda p: save_file(_tensors(), str(p),
                                                         metadata={"audioparity.order":
                                                                   json.dumps(["model.ids"])}))


def npy() -> bytes:
    buf = io.BytesIO()
    np.save(buf, _tensors()["model.layers.0"])
    return buf.getvalue()


def npy_ids() -> bytes:
    """Codec token ids [codebooks, frames], as a port dumps them."""
    buf = io.BytesIO()
    np.save(buf, np.arange(24, dtype=np.int64).reshape(4, 6) % 7)
    return buf.getvalue()


def npy_complex() -> bytes:
    buf = io.BytesIO()
    np.save(buf, _tensors()["model.spec"])
    return buf.getvalue()


def npz() -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **_tensors())
    return buf.getvalue()


def npz_compressed() -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **_tensors())
    return buf.getvalue()


def gguf_file() -> bytes:
    from gguf import GGMLQuantizationType, GGUFWriter, quants

    def write(path: Path) -> None:
        writer = GGUFWriter(str(path), "llama")
        writer.add_string("audioparity.order", json.dumps(["w.q8", "w.f32"]))
        rng = np.random.default_rng(0)
        writer.add_tensor("w.f32", rng.standard_normal((2, 8)).astype(np.float32))
        q = quants.quantize(rng.standard_normal((2, 32)).astype(np.float32),
                            GGMLQuantizationType.Q8_0)
        writer.add_tensor("w.q8", q, raw_shape=q.shape, raw_dtype=GGMLQuantizationType.Q8_0)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()

    return _via_file(".gguf", write)


def torch_pt() -> bytes:
    import torch

    return _via_file(".pt", lambda p: torch.save(
        {"state": {k: torch.from_numpy(v) for k, v in _real(_tensors()).items()},
         "extra": [torch.ones(2)]}, p))


def wav(fmt: str = "WAV", subtype: str = "PCM_16") -> bytes:
    import soundfile as sf

    t = np.arange(1600) / 16000
    y = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, np.stack([y, -y], axis=1), 16000, format=fmt, subtype=subtype)
    return buf.getvalue()


TOKENS_TXT = b"1 2 3 4 5 6\n7 8 9 10 11 12\n\n13,14,15,16,17,18\n"
TOKENS_JSON = json.dumps({"codes": [[1, 2, 3], [4, 5, 6]], "note": "x"}).encode()

MAP_YAML = b"""\
pairs:
  output_norm: model.norm
rename:
  "blk.{i}.attn_{p}": "model.layers.{i}.self_attn.{p}_proj"
regex:
  - ['^blk\\.(\\d+)\\.ffn_up$', 'model.layers.\\1.mlp.up_proj']
strip_prefix: "decoder."
add_prefix: ""
tolerances:
  "model.layers.*.mlp": {rtol: 1.0e-3, atol: 1.0e-5}
"""
MAP_TOML = b"""\
strip_prefix = "decoder."

[pairs]
output_norm = "model.norm"

[rename]
"blk.{i}.attn_{p}" = "model.layers.{i}.self_attn.{p}_proj"

[tolerances]
"model.layers.*.mlp" = {rtol = 1.0e-3, atol = 1.0e-5}
"""
MAP_ARROW = b"blk\\.(\\d+)\\.attn_q -> model.layers.\\1.self_attn.q_proj\n# note\ntoken_embd -> embed\n"

INDEX_JSON = json.dumps({"metadata": {"total_size": 128},
                         "weight_map": {"model.embed": "model-00001-of-00001.safetensors",
                                        "model.ids": "model-00001-of-00001.safetensors"}}).encode()


#: the shape of ``audioparity compare --json`` (a two-entry result, first divergence named)
COMPARE_JSON = json.dumps({
    "schema_version": 1, "status": "divergent", "ref": "ref.safetensors",
    "port": "port.safetensors", "notes": [],
    "entries": [{"name": "model.embed", "ref_name": "model.embed", "port_name": "embed",
                 "shape": [1, 4, 8], "max_abs": 0.0, "rel_l2": 0.0, "cosine": 1.0,
                 "snr_db": "inf", "ok": True, "aligned_by": "exact", "convention": None},
                {"name": "model.layers.0", "ref_name": "model.layers.0",
                 "port_name": "blk.0", "shape": [1, 4, 8], "max_abs": 0.5, "rel_l2": 0.3,
                 "cosine": 0.9, "snr_db": 10.5, "ok": False, "aligned_by": "order",
                 "convention": None}],
    "first_divergence": {"name": "model.layers.0", "causes": [
        {"cause": "scale", "confidence": 0.9, "detail": "port = 2 x ref", "params": {"c": 2},
         "hint": "a normalisation differs"}]}}, indent=2).encode()
