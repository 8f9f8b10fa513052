"""The llama.cpp context settings a capture runs with.

By default a capture runs llama.cpp in the settings that compute what PyTorch computes in
float32, so that the comparison shows the port, not llama.cpp's speed trade-offs:

* flash attention **off** (on CPU, "auto" turns it on and casts K and V to F16);
* the KV cache in **F32** (llama.cpp's default is F16);
* ``n_ubatch`` (and ``n_batch``) at least the number of tokens, so every node is computed
  once over the whole prompt (with fewer, the graph runs once per micro-batch and each
  callback sees a slice).

``exact=False`` keeps llama.cpp's defaults, what a user's program most likely runs; the
trace's meta then says so, so that a report's F16-sized differences at attention read as
``precision``, not as a bug.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GGML_TYPE_F32 = 0
FLASH_ATTN_DISABLED = 0

_TYPE_NAMES = {0: "f32", 1: "f16", 8: "q8_0", 30: "bf16"}
_FLASH = {-1: "auto", 0: "off", 1: "on"}


@dataclass(frozen=True)
class Settings:
    """How the context is made: ``exact`` parity settings or llama.cpp's defaults."""

    exact: bool = True
    n_threads: int | None = None

    def apply(self, params: Any, n_tokens: int, n_ctx: int) -> None:
        """Fill ``llama_context_params`` for a run over ``n_tokens`` tokens in ``n_ctx``
        cells."""
        params.n_ctx = n_ctx
        if self.n_threads:
            params.n_threads = params.n_threads_batch = self.n_threads
        if self.exact:
            params.flash_attn_type = FLASH_ATTN_DISABLED
            params.type_k = params.type_v = GGML_TYPE_F32
            params.n_batch = params.n_ubatch = max(n_tokens, 1)
        else:
            params.n_batch = max(n_tokens, params.n_batch)

    def describe(self, params: Any) -> dict[str, Any]:
        """The settings as run, for the trace's meta."""
        out = {"exact": self.exact,
               "flash_attn": _FLASH.get(int(params.flash_attn_type), str(params.flash_attn_type)),
               "type_k": _TYPE_NAMES.get(int(params.type_k), str(params.type_k)),
               "type_v": _TYPE_NAMES.get(int(params.type_v), str(params.type_v)),
               "n_ubatch": int(params.n_ubatch), "n_ctx": int(params.n_ctx)}
        if not self.exact:
            out["note"] = ("llama.cpp's default settings (flash attention "
                           f"{out['flash_attn']}, KV cache {out['type_k']}/{out['type_v']}, "
                           f"n_ubatch {out['n_ubatch']}): differences of reduced precision at "
                           "attention are expected; capture with the exact settings to "
                           "compare at float32")
        return out
