"""Bark's semantic GPT: transformers ``BarkSemanticModel`` (tiny random config) vs mlx-audio's
``mlx_audio.tts.models.bark.bark.GPT`` with the same weights, renamed by mlx-audio's own
``Model.sanitize`` (a no-op on transformers' names, which already match) and loaded strictly.

The correct port has a real bug of its own: ``CausalSelfAttention`` passes its causal mask
``tril(ones)`` as a float32 array to ``mx.fast.scaled_dot_product_attention``, which adds a
float mask to the scores instead of masking: every position sees the future (allowed
positions get +1), only the last position is unaffected. Generation one token at a time with
the KV cache is unaffected (one row); every full-sequence call (the prompt) is wrong. The
first divergence is the first attention, ``layers.0.attn``.

Planted bug (on the port with the mask fixed to a boolean one, as a user would after the
first finding):

- ``mlp_gelu_tanh``: layer 1's MLP uses the tanh GELU -> ``layers.1.mlp.gelu``
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from port_common import Bug, mlx_trace, randomize_, torch_trace

HF = {"block_size": 64, "input_vocab_size": 128, "output_vocab_size": 128, "num_layers": 2,
      "num_heads": 2, "hidden_size": 32, "dropout": 0.0, "bias": False}
TOKENS = 12

BUGS = {
    "mlp_gelu_tanh": Bug("mlp_gelu_tanh", "layers.1.mlp.gelu", ("activation",)),
}
#: where the correct port first diverges: {inputs recorded: (reference name, port name)}
OWN_BUG = {False: ("layers.0.attn.out_proj", "layers.0.attn.out_proj"),
           True: ("layers.0.attn.out_proj:in0", "layers.0.attn.out_proj:in0")}


def reference():
    """A random tiny transformers ``BarkSemanticModel`` (eval mode, eager attention)."""
    import torch
    from transformers import BarkSemanticConfig
    from transformers.models.bark.modeling_bark import BarkSemanticModel

    torch.manual_seed(0)
    model = BarkSemanticModel(BarkSemanticConfig(**HF)).eval()
    randomize_(model, seed=41)
    return model


def input_ids():
    """``[1, TOKENS]`` token ids (torch)."""
    import torch

    gen = torch.Generator().manual_seed(42)
    return torch.randint(0, HF["input_vocab_size"], (1, TOKENS), generator=gen)


def port(ref, *, boolean_mask: bool = False):
    """mlx-audio's semantic ``GPT`` with the reference's weights (``Model.sanitize``, strict).

    ``boolean_mask=True`` is the fix for the port's own bug: the causal mask as booleans.
    """
    import mlx.core as mx
    from mlx_audio.tts.models.bark.bark import GPT, Model, SemanticConfig

    cfg = SemanticConfig(block_size=HF["block_size"], input_vocab_size=HF["input_vocab_size"],
                         output_vocab_size=HF["output_vocab_size"], n_layer=HF["num_layers"],
                         n_head=HF["num_heads"], n_embd=HF["hidden_size"], bias=HF["bias"])
    model = GPT(cfg)
    weights = {k: mx.array(v.detach().float().numpy()) for k, v in ref.state_dict().items()}
    # Model.sanitize only reads config.model_size (the layer count of its renaming loop)
    weights = Model.sanitize(SimpleNamespace(config=SimpleNamespace(model_size="base")),
                             weights)
    model.load_weights(list(weights.items()), strict=True)
    if boolean_mask:
        for block in model.layers:
            block.attn.bias = block.attn.bias.astype(mx.bool_)
    return model


def plant(model, bug: str) -> None:
    """Plant ``bug`` (see :data:`BUGS`) in the MLX port's modules."""
    from mlx import nn

    if bug == "mlp_gelu_tanh":
        model.layers[1].mlp.gelu = nn.GELU(approx="precise")
    else:
        raise ValueError(bug)


def build(workdir: Path, bug: str | None = None, *, inputs: bool = False) -> tuple[Path, Path]:
    """Reference and port traces of one full-sequence forward on the same tokens."""
    import mlx.core as mx

    ref = reference()
    ids = input_ids()
    ref_path = torch_trace(ref, workdir / "ref.safetensors", lambda: ref(ids), inputs=inputs)
    model = port(ref, boolean_mask=bug is not None)
    if bug:
        plant(model, bug)
    port_ids = mx.array(ids.numpy())
    return ref_path, mlx_trace(model, workdir / "port.safetensors", lambda: model(port_ids),
                               inputs=inputs)
