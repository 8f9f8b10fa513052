"""The tiny Qwen3 on both sides, built once per session: its torch capture, its GGUF files
(F32, Q8_0, and with planted metadata bugs) and their llama.cpp captures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tiny_lm import PROMPT, build_model, capture_reference, write_gguf

GGUF_VARIANTS = {  # name -> write_gguf keyword arguments
    "f32": {},
    "q8_0": {"qtype": "Q8_0"},
    "rope_theta": {"rope_theta": 1e6},  # the config says 1e4
    "rms_eps": {"rms_eps": 1e-2},  # the config says 1e-6
}


@dataclass
class Tiny:
    """The tiny model's files under ``root``, made on first use."""

    root: Path
    model: object
    ref: Path
    _gguf: dict[str, Path] = field(default_factory=dict)
    _traces: dict[tuple, Path] = field(default_factory=dict)

    def gguf(self, variant: str = "f32") -> Path:
        if variant not in self._gguf:
            self._gguf[variant] = write_gguf(self.model, self.root / f"{variant}.gguf",
                                             **GGUF_VARIANTS[variant])
        return self._gguf[variant]

    def trace(self, variant: str = "f32", **options) -> Path:
        """The llama.cpp capture of ``variant`` on :data:`PROMPT` (options of
        ``capture_llamacpp``)."""
        from audioparity.sources.llamacpp import capture_llamacpp

        key = (variant, tuple(sorted(options.items())))
        if key not in self._traces:
            out = self.root / f"llama-{variant}-{len(self._traces)}.safetensors"
            capture_llamacpp(self.gguf(variant), PROMPT, out, **options)
            self._traces[key] = out
        return self._traces[key]


@pytest.fixture(scope="session")
def llama_cpp():
    return pytest.importorskip(
        "llama_cpp", reason="llama-cpp-python is not installed (the 'llamacpp' extra; "
                            "make install builds it)")


@pytest.fixture(scope="session")
def tiny(tmp_path_factory, llama_cpp) -> Tiny:
    pytest.importorskip("transformers")
    root = tmp_path_factory.mktemp("llamacpp")
    model = build_model()
    return Tiny(root, model, capture_reference(model, PROMPT, root / "ref.safetensors"))


@pytest.fixture
def write(tmp_path) -> Callable[[str, bytes], Path]:
    """``write(name, data)``: a file under tmp_path."""
    def make(name: str, data: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path
    return make
