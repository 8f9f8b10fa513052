"""What a GGUF says about itself before llama.cpp loads it: architecture, sizes, memory.

Read with the ``gguf`` package (memory-mapped, headers only), so a file that is no GGUF or
is cut short is refused with one line before llama.cpp sees it, and a model too large for
the memory bound is refused before a byte of it is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import InputError
from ...trace.base import DAMAGED

#: llama.cpp pads the KV cache to a multiple of this many cells
KV_PAD = 256


@dataclass(frozen=True)
class GGUFHeader:
    """The facts of a GGUF the capture needs (sizes in bytes, counts in elements)."""

    architecture: str
    name: str | None
    weight_bytes: int
    n_layer: int
    n_embd: int
    n_head_kv: int
    head_dim: int
    n_vocab: int
    file_type: int | None

    def memory_bytes(self, n_tokens: int, kv_bytes_per_value: int = 4) -> int:
        """Estimated memory of a run over ``n_tokens``: the weights, the KV cache (padded
        to :data:`KV_PAD` cells) and the logits of every token (float32)."""
        cells = -(-max(n_tokens, 1) // KV_PAD) * KV_PAD
        kv = 2 * cells * self.n_layer * self.n_head_kv * self.head_dim * kv_bytes_per_value
        return self.weight_bytes + kv + 4 * n_tokens * self.n_vocab


def read_header(path: Path) -> GGUFHeader:
    """The header of the GGUF at ``path``; :class:`InputError` when it is none."""
    if not path.is_file():
        raise InputError(path, "no such file" if not path.exists() else "not a file")
    try:
        import gguf

        reader = gguf.GGUFReader(str(path))
        fields = {name: _value(f) for name, f in reader.fields.items()
                  if not name.startswith("tokenizer.")}  # vocabularies are long: not read
        tokens = reader.fields.get("tokenizer.ggml.tokens")
        n_tokens = len(tokens.data) if tokens is not None else None
        weight_bytes = sum(int(t.n_bytes) for t in reader.tensors)
    except DAMAGED as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise InputError(path, f"not a GGUF file llama.cpp can load ({first})") from None
    arch = fields.get("general.architecture")
    if not isinstance(arch, str):
        raise InputError(path, "GGUF has no general.architecture: not a llama.cpp model")

    def get(key: str, default: int = 0) -> int:
        value = fields.get(f"{arch}.{key}", default)
        return int(value[0] if isinstance(value, list) else value)

    n_head = get("attention.head_count", 1) or 1
    n_embd = get("embedding_length")
    return GGUFHeader(
        architecture=arch, name=fields.get("general.name") if isinstance(
            fields.get("general.name"), str) else None,
        weight_bytes=weight_bytes, n_layer=get("block_count"), n_embd=n_embd,
        n_head_kv=get("attention.head_count_kv", n_head),
        head_dim=get("attention.key_length", n_embd // n_head),
        n_vocab=n_tokens if n_tokens is not None else get("vocab_size"),
        file_type=fields.get("general.file_type") if isinstance(
            fields.get("general.file_type"), int) else None)


def _value(field: Any) -> Any:
    """A GGUF field as a Python value (str, number or list); None when unreadable."""
    try:
        return field.contents()
    except DAMAGED:
        return None
