"""Seed 000: transformers Qwen3 (reference) vs a NumPy Qwen3 port with one bug.

The port loads the reference's weights and writes its trace under the names the torch
capture gives (it "dumps" the same points a hand-written port would). Bugs:

* ``qk_norm=False``: a Qwen2-style attention without the per-head q/k RMSNorm (the port's
  ``q_norm`` slot holds q as it is);
* ``rope="interleaved"``: rotary embedding on pairs (x0, x1), (x2, x3) … instead of HF's
  half-split (x_i, x_{i+D/2}).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from zoo_common import randomize_, rms_norm, silu, softmax, state_numpy, torch_trace

from audioparity.trace import TraceWriter

ROPE_FN = "transformers.models.qwen3.modeling_qwen3.apply_rotary_pos_emb"
SEQ = 9


def build_reference():
    """A tiny random Qwen3ForCausalLM (2 layers, 4 heads, 2 KV heads, head_dim 8)."""
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    cfg = Qwen3Config(vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, head_dim=8,
                      max_position_embeddings=64, rope_theta=10000.0,
                      attn_implementation="eager")
    torch.manual_seed(0)
    model = Qwen3ForCausalLM(cfg).eval()
    randomize_(model, seed=0)
    ids = torch.randint(0, cfg.vocab_size, (1, SEQ), generator=torch.Generator().manual_seed(1))
    return model, ids


def _rope_half(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    half = x.shape[-1] // 2
    rotated = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * cos + rotated * sin


def _rope_interleaved(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    half = x.shape[-1] // 2
    c, s = np.repeat(cos[..., :half], 2, axis=-1), np.repeat(sin[..., :half], 2, axis=-1)
    rotated = np.stack([-x[..., 1::2], x[..., 0::2]], axis=-1).reshape(x.shape)
    return x * c + rotated * s


def numpy_port(weights: dict[str, np.ndarray], cfg, ids: np.ndarray, *, qk_norm: bool = True,
               rope: str = "half") -> dict[str, np.ndarray]:
    """Qwen3 forward in NumPy; returns the trace (names as the torch capture gives them)."""
    out: dict[str, np.ndarray] = {}
    w = weights
    n_heads, n_kv, d = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    eps = cfg.rms_norm_eps
    b, s = ids.shape
    h = w["model.embed_tokens.weight"][ids]
    out["model.embed_tokens"] = h
    inv_freq = 1.0 / (cfg.rope_parameters["rope_theta"] ** (np.arange(0, d, 2) / d))
    freqs = np.arange(s)[:, None] * inv_freq[None, :]
    emb = np.concatenate([freqs, freqs], axis=-1)[None]
    cos, sin = np.cos(emb).astype(np.float32), np.sin(emb).astype(np.float32)
    out["model.rotary_emb"], out["model.rotary_emb:out1"] = cos, sin
    rope_fn = _rope_half if rope == "half" else _rope_interleaved
    causal = np.triu(np.full((s, s), -np.inf, np.float32), k=1)
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}"
        x = rms_norm(h, w[f"{p}.input_layernorm.weight"], eps)
        out[f"{p}.input_layernorm"] = x
        a = f"{p}.self_attn"
        q = x @ w[f"{a}.q_proj.weight"].T
        k = x @ w[f"{a}.k_proj.weight"].T
        v = x @ w[f"{a}.v_proj.weight"].T
        out[f"{a}.q_proj"], out[f"{a}.k_proj"], out[f"{a}.v_proj"] = q, k, v
        q, k = q.reshape(b, s, n_heads, d), k.reshape(b, s, n_kv, d)
        out[f"{a}.q_norm:in0"], out[f"{a}.k_norm:in0"] = q, k
        if qk_norm:
            q = rms_norm(q, w[f"{a}.q_norm.weight"], eps)
            k = rms_norm(k, w[f"{a}.k_norm.weight"], eps)
        out[f"{a}.q_norm"], out[f"{a}.k_norm"] = q, k
        q, k = q.transpose(0, 2, 1, 3), k.transpose(0, 2, 1, 3)
        for j, arr in enumerate((q, k, cos, sin)):
            out[f"{a}.apply_rotary_pos_emb:in{j}"] = arr
        q, k = rope_fn(q, cos[:, None], sin[:, None]), rope_fn(k, cos[:, None], sin[:, None])
        out[f"{a}.apply_rotary_pos_emb"], out[f"{a}.apply_rotary_pos_emb:out1"] = q, k
        v = v.reshape(b, s, n_kv, d).transpose(0, 2, 1, 3)
        rep = n_heads // n_kv
        k, v = np.repeat(k, rep, axis=1), np.repeat(v, rep, axis=1)
        probs = softmax(q @ k.transpose(0, 1, 3, 2) / np.sqrt(d) + causal)
        ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(b, s, n_heads * d)
        out[f"{a}.o_proj:in0"] = ctx
        attn = ctx @ w[f"{a}.o_proj.weight"].T
        out[f"{a}.o_proj"], out[a] = attn, attn
        h = h + attn
        x = rms_norm(h, w[f"{p}.post_attention_layernorm.weight"], eps)
        out[f"{p}.post_attention_layernorm"] = x
        m = f"{p}.mlp"
        gate, up = x @ w[f"{m}.gate_proj.weight"].T, x @ w[f"{m}.up_proj.weight"].T
        out[f"{m}.gate_proj"], out[f"{m}.up_proj"] = gate, up
        mlp = (silu(gate) * up) @ w[f"{m}.down_proj.weight"].T
        out[f"{m}.down_proj"], out[m] = mlp, mlp
        h = h + mlp
        out[p] = h
    h = rms_norm(h, w["model.norm.weight"], eps)
    out["model.norm"] = h
    out["lm_head"] = h @ w["lm_head.weight"].T
    out["output"] = out["lm_head"]
    return {k: np.asarray(v, np.float32) for k, v in out.items()}


def build(workdir: Path, **bug) -> tuple[Path, Path]:
    """Write ``ref.safetensors`` (torch capture) and ``port.safetensors`` (NumPy port)."""
    model, ids = build_reference()
    ref = torch_trace(model, workdir / "ref.safetensors", lambda: model(ids), inputs=True,
                      functions=(ROPE_FN,))
    trace = numpy_port(state_numpy(model), model.config, ids.numpy(), **bug)
    port = workdir / "port.safetensors"
    with TraceWriter(port, {"source": "numpy", "model": "qwen3-port"}) as writer:
        for name, arr in trace.items():
            writer.add(name, arr)
    return ref, port
