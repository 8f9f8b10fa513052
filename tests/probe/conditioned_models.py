"""Conditioned models for the conditioning probe: diffusers ``StableAudioDiTModel`` (tiny
config; text conditioning reaches it through cross-attention) and a transformers
``T5EncoderModel`` (the text encoder that makes the prompt embedding). Ports with the
conditioning bugs of a real DiT port: the cross-attention fed zeros (the unconditional
branch), and a text encoder that encodes the empty prompt whatever it is given."""

from __future__ import annotations

import copy
from pathlib import Path

import torch

from audioparity.sources.torch_capture import capture

DIT = {"sample_size": 16, "in_channels": 4, "num_layers": 2, "attention_head_dim": 8,
       "num_attention_heads": 2, "num_key_value_attention_heads": 1, "out_channels": 4,
       "cross_attention_dim": 16, "time_proj_dim": 16, "global_states_input_dim": 16,
       "cross_attention_input_dim": 12}
TEXT_TOKENS = 5


def dit():
    """A tiny ``StableAudioDiTModel`` with random weights."""
    from diffusers import StableAudioDiTModel

    torch.manual_seed(0)
    return StableAudioDiTModel(**DIT).eval()


def dit_inputs(seed: int = 0) -> dict:
    """Everything but the text: the noisy latent, the timestep, the global conditioning."""
    gen = torch.Generator().manual_seed(seed)
    return {"hidden_states": torch.randn(1, DIT["in_channels"], DIT["sample_size"],
                                         generator=gen),
            "timestep": torch.tensor([10.0]),
            "global_hidden_states": torch.randn(1, 1, DIT["global_states_input_dim"],
                                                generator=gen)}


def prompt_embedding(seed: int) -> torch.Tensor:
    """A text embedding ``[1, tokens, dim]`` (what the text encoder gives for one prompt)."""
    gen = torch.Generator().manual_seed(100 + seed)
    return torch.randn(1, TEXT_TOKENS, DIT["cross_attention_input_dim"], generator=gen)


def correct_dit_port(ref):
    """A correct port: the same weights, computed in float64."""
    return copy.deepcopy(ref).double()


def cross_attention_zeroed(ref):
    """A port whose cross-attention attends to zeros instead of the text embedding."""
    port = copy.deepcopy(ref)

    def zero_context(module, args, kwargs):
        context = kwargs.get("encoder_hidden_states")
        if context is not None:
            kwargs["encoder_hidden_states"] = torch.zeros_like(context)
        return args, kwargs

    for block in port.transformer_blocks:
        block.attn2.register_forward_pre_hook(zero_context, with_kwargs=True)
    return port


def trace_dit(model, prompt: torch.Tensor, path: Path) -> Path:
    """Trace one forward of ``model`` under the text embedding ``prompt``."""
    dtype = next(model.parameters()).dtype
    inputs = {k: v.to(dtype) for k, v in dit_inputs().items()}
    with torch.no_grad(), capture(model, path):
        model(**inputs, encoder_hidden_states=prompt.to(dtype))
    return path


def t5():
    """A tiny ``T5EncoderModel`` with random weights."""
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(0)
    config = T5Config(vocab_size=64, d_model=16, d_kv=4, d_ff=32, num_layers=2, num_heads=2,
                      relative_attention_num_buckets=8)
    return T5EncoderModel(config).eval()


def prompt_ids(seed: int) -> torch.Tensor:
    """Token ids ``[1, 8]`` of one prompt (1 = EOS at the end)."""
    gen = torch.Generator().manual_seed(200 + seed)
    ids = torch.randint(2, 64, (1, 8), generator=gen)
    ids[0, -1] = 1
    return ids


def empty_prompt_port(ref):
    """A text encoder port that encodes the empty prompt (all padding) whatever it is
    given: the prompt never reaches it."""
    port = copy.deepcopy(ref)

    def ignore_prompt(module, args, kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        empty = torch.zeros_like(ids)
        if "input_ids" in kwargs:
            kwargs["input_ids"] = empty
            return args, kwargs
        return (empty, *args[1:]), kwargs

    port.register_forward_pre_hook(ignore_prompt, with_kwargs=True)
    return port


def embed(model, ids: torch.Tensor) -> torch.Tensor:
    """The prompt embedding ``[1, tokens, d_model]``."""
    with torch.no_grad():
        return model(input_ids=ids).last_hidden_state


def trace_t5(model, ids: torch.Tensor, path: Path) -> Path:
    with torch.no_grad(), capture(model, path):
        model(input_ids=ids)
    return path
