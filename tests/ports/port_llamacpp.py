"""A NumPy port of the demo's language model that dumps like llama.cpp.

The reference is the demo's transformers ``Qwen3ForCausalLM``
(:func:`audioparity.examples.reference.build_lm`, random weights), captured with torch hooks
and the rotary function recorded (``functions=[apply_rotary_pos_emb]``, as the README shows).
The port is the forward pass in NumPy on the same weights, dumped the way llama.cpp's graph
callback names its nodes: ``inp_embd``, ``attn_norm-0``, ``Qcur-0`` (reused: after the projection and
again after RoPE), ``Qcur_normed-0``, ``Kcur-0`` (reused likewise), ``Kcur_normed-0``,
``Vcur-0``, ``kqv_out-0``, ``ffn_inp-0``, ``ffn_norm-0``, ``ffn_up-0`` (computed before
``ffn_gate-0``), ``ffn_gate-0``, ``ffn_swiglu-0``, ``ffn_out-0``, ``l_out-0``,
``result_norm``, ``result_output``. No batch axis; q/k/v as ``[T, n_head, head_dim]``.
Written as a directory of ``.npy`` with an ``order.txt`` that repeats reused names (the
second write of ``Qcur-0`` is ``Qcur-0#1.npy``).

Planted bugs:

- ``rope_interleaved``: layer 1 rotates pairs (2i, 2i+1) instead of (i, i + d/2)
  -> ``model.layers.1.self_attn.apply_rotary_pos_emb``
- ``ffn_norm_eps``: layer 2's ``ffn_norm`` uses eps 1e-3 instead of 1e-6
  -> ``model.layers.2.post_attention_layernorm``
- ``ffn_up_scale``: layer 3's up projection comes out ×0.5 (a dequantisation scale applied
  twice) -> ``model.layers.3.mlp.up_proj`` / ``ffn_up-3``: computed before ``ffn_gate-3`` in
  the port, after ``gate_proj`` and ``act_fn`` in the reference
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from port_common import Bug, torch_trace

from audioparity.examples.numpy_port import (
    apply_rope,
    apply_rope_interleaved,
    attention,
    repeat_kv,
    rms_norm,
    rope_tables,
    silu,
)
from audioparity.examples.reference import ROPE_FUNCTION, DemoConfig, build_lm, demo_input_ids

BUGS = {
    "rope_interleaved": Bug("rope_interleaved", "model.layers.1.self_attn.apply_rotary_pos_emb",
                            ("rope_variant",), port="Qcur-1#1"),
    "ffn_norm_eps": Bug("ffn_norm_eps", "model.layers.2.post_attention_layernorm",
                        ("norm_eps",), port="ffn_norm-2"),
    "ffn_up_scale": Bug("ffn_up_scale", "model.layers.3.mlp.up_proj", ("scale",),
                        port="ffn_up-3"),
}


class Dump:
    """A llama.cpp-style dump: node names in call order, reused names kept in order.txt."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.order: list[str] = []
        self.count: dict[str, int] = {}

    def __call__(self, name: str, value: np.ndarray) -> None:
        k = self.count.get(name, 0)
        self.count[name] = k + 1
        np.save(self.folder / (name if k == 0 else f"{name}#{k}"), np.asarray(value, np.float32))
        self.order.append(name)

    def close(self) -> Path:
        (self.folder / "order.txt").write_text("\n".join(self.order) + "\n")
        return self.folder


def forward(w: dict[str, np.ndarray], ids: np.ndarray, cfg: DemoConfig, dump: Dump,
            bug: str | None = None) -> np.ndarray:
    """The LM forward on one sequence ``ids [T]`` (no batch axis), dumping every node."""
    t = ids.shape[0]
    heads, kv_heads, d = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    cos, sin = rope_tables(t, d, cfg.rope_theta)
    x = w["model.embed_tokens.weight"][ids]  # [T, H]
    dump("inp_embd", x)
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}"
        cur = rms_norm(x, w[f"{p}.input_layernorm.weight"], cfg.rms_norm_eps)
        dump(f"attn_norm-{i}", cur)
        q = (cur @ w[f"{p}.self_attn.q_proj.weight"].T).reshape(t, heads, d)
        dump(f"Qcur-{i}", q)
        k = (cur @ w[f"{p}.self_attn.k_proj.weight"].T).reshape(t, kv_heads, d)
        dump(f"Kcur-{i}", k)
        v = (cur @ w[f"{p}.self_attn.v_proj.weight"].T).reshape(t, kv_heads, d)
        dump(f"Vcur-{i}", v)
        q = rms_norm(q, w[f"{p}.self_attn.q_norm.weight"], cfg.rms_norm_eps)
        dump(f"Qcur_normed-{i}", q)
        k = rms_norm(k, w[f"{p}.self_attn.k_norm.weight"], cfg.rms_norm_eps)
        dump(f"Kcur_normed-{i}", k)
        rope = apply_rope_interleaved if (bug == "rope_interleaved" and i == 1) else apply_rope
        # the demo's rope works on (B, heads, T, d): give it one batch, take it back
        q = rope(q.transpose(1, 0, 2)[None], cos, sin)[0].transpose(1, 0, 2)
        k = rope(k.transpose(1, 0, 2)[None], cos, sin)[0].transpose(1, 0, 2)
        dump(f"Qcur-{i}", q)
        dump(f"Kcur-{i}", k)
        group = heads // kv_heads
        qb, kb, vb = (a.transpose(1, 0, 2)[None] for a in (q, k, v))
        out = attention(qb, repeat_kv(kb, group), repeat_kv(vb, group))[0]  # [heads, T, d]
        kqv = out.transpose(1, 0, 2).reshape(t, heads * d)
        dump(f"kqv_out-{i}", kqv)
        x = x + kqv @ w[f"{p}.self_attn.o_proj.weight"].T
        dump(f"ffn_inp-{i}", x)
        eps = 1e-3 if (bug == "ffn_norm_eps" and i == 2) else cfg.rms_norm_eps
        cur = rms_norm(x, w[f"{p}.post_attention_layernorm.weight"], eps)
        dump(f"ffn_norm-{i}", cur)
        up = cur @ w[f"{p}.mlp.up_proj.weight"].T
        if bug == "ffn_up_scale" and i == 3:
            up = up * np.float32(0.5)
        dump(f"ffn_up-{i}", up)
        gate = cur @ w[f"{p}.mlp.gate_proj.weight"].T
        dump(f"ffn_gate-{i}", gate)
        swiglu = silu(gate) * up
        dump(f"ffn_swiglu-{i}", swiglu)
        ffn = swiglu @ w[f"{p}.mlp.down_proj.weight"].T
        dump(f"ffn_out-{i}", ffn)
        x = x + ffn
        dump(f"l_out-{i}", x)
    x = rms_norm(x, w["model.norm.weight"], cfg.rms_norm_eps)
    dump("result_norm", x)
    logits = x @ w["lm_head.weight"].T
    dump("result_output", logits)
    return logits


def build(workdir: Path, bug: str | None = None, *, inputs: bool = False) -> tuple[Path, Path]:
    """Reference trace of the demo LM and the llama.cpp-style dump of the NumPy port."""
    cfg = DemoConfig()
    lm = build_lm(cfg)
    ids = demo_input_ids(cfg)
    ref_path = torch_trace(lm, workdir / "ref.safetensors", lambda: lm(ids), inputs=inputs,
                           functions=(ROPE_FUNCTION,))
    weights = {k: v.detach().float().numpy() for k, v in lm.state_dict().items()}
    dump = Dump(workdir / "port")
    forward(weights, ids.numpy()[0], cfg, dump, bug)
    return ref_path, dump.close()


#: reference name for each llama.cpp node (for checking the builder by hand)
_TRUTH = {"attn_norm": "input_layernorm", "Qcur": "self_attn.q_proj",
          "Kcur": "self_attn.k_proj", "Vcur": "self_attn.v_proj",
          "Qcur_normed": "self_attn.q_norm", "Kcur_normed": "self_attn.k_norm",
          "Qcur#1": "self_attn.apply_rotary_pos_emb",
          "Kcur#1": "self_attn.apply_rotary_pos_emb:out1", "ffn_norm": "post_attention_layernorm",
          "ffn_up": "mlp.up_proj", "ffn_gate": "mlp.gate_proj", "ffn_out": "mlp", "l_out": ""}
