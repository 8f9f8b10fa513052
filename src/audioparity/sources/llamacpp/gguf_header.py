"""What a GGUF says about itself before llama.cpp loads it: architecture, sizes, memory.

Read from the memory-mapped header alone, so a file that is no GGUF or is cut short is
refused with one line before llama.cpp sees it, and a model too large for the memory bound
is refused before a byte of it is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ...errors import InputError
from ...trace.gguf_layout import LongArray, read_gguf_layout

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
    """The header of the GGUF at ``path``; :class:`InputError` when it is none.

    Read with :func:`~audioparity.trace.gguf_layout.read_gguf_layout`: the vocabulary's
    arrays are stepped over by their lengths (tens of milliseconds for a 150k-token
    vocabulary, where ``gguf.GGUFReader`` takes seconds)."""
    if not path.is_file():
        raise InputError(path, "no such file" if not path.exists() else "not a file")
    try:
        layout = read_gguf_layout(path)
    except (ValueError, OSError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise InputError(path, f"not a GGUF file llama.cpp can load ({first})") from None
    fields = layout.metadata
    arch = fields.get("general.architecture")
    if not isinstance(arch, str):
        raise InputError(path, "GGUF has no general.architecture: not a llama.cpp model")

    def get(key: str, default: int = 0) -> int:
        value = fields.get(f"{arch}.{key}", default)
        if isinstance(value, list) and value:  # per-layer values: the first layer's
            value = value[0]
        if not isinstance(value, (int, float)):
            raise InputError(path, f"GGUF metadata {arch}.{key} is not a number")
        return int(value)

    tokens = fields.get("tokenizer.ggml.tokens")
    n_head = get("attention.head_count", 1) or 1
    n_embd = get("embedding_length")
    name, file_type = fields.get("general.name"), fields.get("general.file_type")
    return GGUFHeader(
        architecture=arch, name=name if isinstance(name, str) else None,
        weight_bytes=sum(t.n_bytes for t in layout.tensors), n_layer=get("block_count"),
        n_embd=n_embd, n_head_kv=get("attention.head_count_kv", n_head),
        head_dim=get("attention.key_length", n_embd // n_head),
        n_vocab=len(tokens) if isinstance(tokens, (list, LongArray)) else get("vocab_size"),
        file_type=file_type if isinstance(file_type, int) else None)
