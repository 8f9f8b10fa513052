"""The demo reference: a transformers ``Qwen3ForCausalLM`` feeding a Vocos-style vocoder head.

A miniature of Soprano (seed 000): the language model's final hidden states (after the last
RMSNorm) go to an ISTFT head that makes audio. Built from a tiny config with random weights
moved away from their init values (linear/embedding ``0.1 * randn``, norm weights
``1 + 0.1 * randn``) so that a skipped norm or an unloaded tensor shows.

Trace names (torch capture of :class:`DemoTTS`): ``lm.model.layers.N.self_attn...``,
``vocoder.istft``, and ``output`` = audio, ``output:out1`` = logits.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROPE_FUNCTION = "transformers.models.qwen3.modeling_qwen3.apply_rotary_pos_emb"


@dataclass(frozen=True)
class DemoConfig:
    """Sizes of the demo model (defaults: ~0.3 M parameters, runs in milliseconds)."""

    vocab_size: int = 256
    hidden_size: int = 64
    intermediate_size: int = 128
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    head_dim: int = 16
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-6
    vocoder_dim: int = 48
    n_fft: int = 64
    hop_length: int = 16

    def qwen3_config(self):
        """The ``transformers.Qwen3Config`` of the language model."""
        from transformers import Qwen3Config

        return Qwen3Config(
            vocab_size=self.vocab_size, hidden_size=self.hidden_size,
            intermediate_size=self.intermediate_size,
            num_hidden_layers=self.num_hidden_layers,
            num_attention_heads=self.num_attention_heads,
            num_key_value_heads=self.num_key_value_heads, head_dim=self.head_dim,
            rope_parameters={"rope_type": "default", "rope_theta": self.rope_theta},
            rms_norm_eps=self.rms_norm_eps, max_position_embeddings=512,
            tie_word_embeddings=False, use_cache=False, attn_implementation="sdpa",
        )

    def to_dict(self) -> dict:
        return asdict(self)


def build_lm(config: DemoConfig | None = None, seed: int = 0):
    """A random ``Qwen3ForCausalLM`` (eval mode) with weights away from their init."""
    import torch
    from transformers import Qwen3ForCausalLM

    config = config or DemoConfig()
    torch.manual_seed(seed)
    lm = Qwen3ForCausalLM(config.qwen3_config()).eval()
    _randomize(lm, seed)
    return lm


def build_reference(config: DemoConfig | None = None, seed: int = 0):
    """The demo reference :class:`DemoTTS` (eval mode, fixed seed)."""
    import torch

    from .vocoder import VocosHead

    config = config or DemoConfig()

    class DemoTTS(torch.nn.Module):
        """Token ids ``(B, T)`` -> (audio ``(B, T * hop_length)``, logits ``(B, T, vocab)``)."""

        def __init__(self) -> None:
            super().__init__()
            self.lm = build_lm(config, seed)
            self.vocoder = VocosHead(config.hidden_size, config.vocoder_dim,
                                     config.n_fft, config.hop_length)

        def forward(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            hidden = self.lm.model(input_ids).last_hidden_state
            logits = self.lm.lm_head(hidden)
            return self.vocoder(hidden), logits

    model = DemoTTS()
    _randomize(model.vocoder, seed + 1)
    return model.eval()


def demo_input_ids(config: DemoConfig | None = None, length: int = 24, seed: int = 0):
    """A fixed prompt of ``length`` token ids, shape ``(1, length)``, int64."""
    import torch

    config = config or DemoConfig()
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, config.vocab_size, (1, length), generator=gen)


def save_weights(model, path: str | Path) -> Path:
    """Write ``model.state_dict()`` as float32 safetensors (what a port would load)."""
    from ..trace import write_trace

    tensors = {k: v.detach().float().cpu().numpy() for k, v in model.state_dict().items()}
    return write_trace(path, tensors, {"source": "state_dict"})


def trace_reference(model, input_ids, path: str | Path, meta: dict | None = None) -> list[str]:
    """Run ``model(input_ids)`` under the torch capture and write its trace to ``path``.

    Module inputs are recorded (``NAME:in0`` ...) as well as outputs, and the rotary
    function is traced with its q, k, cos, sin: the catalogue needs them to name a wrong
    activation, a norm eps, or a q/k norm skipped before RoPE. Returns the recorded names.
    """
    import torch

    from ..sources.torch_capture import capture

    with torch.no_grad(), capture(model, path, functions=(ROPE_FUNCTION,), inputs=True,
                                  meta=meta) as rec:
        model(input_ids)
    return rec.names


def _randomize(module, seed: int) -> None:
    """Weights ``0.1 * randn``, biases ``0.02 * randn``, norm weights ``1 + 0.1 * randn``."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in module.named_parameters():
            noise = torch.randn(param.shape, generator=gen)
            if "norm" in name.rsplit(".", 2)[-2] and name.endswith("weight"):
                param.copy_(1.0 + 0.1 * noise)
            elif name.endswith("bias"):
                param.copy_(0.02 * noise)
            else:
                param.copy_(0.1 * noise)


def as_numpy(ids) -> np.ndarray:
    """Token ids as an int64 NumPy array."""
    return np.asarray(ids.detach().cpu().numpy() if hasattr(ids, "detach") else ids, np.int64)
