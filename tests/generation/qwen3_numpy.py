"""A NumPy port of transformers' ``Qwen3ForCausalLM`` as a talker: prompt forward, then one
token per step with a KV cache, greedy or sampled by inverse CDF from a uniform (the
replayable scheme), every layer recorded under the torch capture's names for the step.

Planted bugs (seed 000's situations):

- ``rope_interleaved``: layer ``ROPE_LAYER`` rotates pairs (2i, 2i+1) instead of
  (i, i + d/2): the very first token is wrong;
- ``eos_suppressed``: the EOS logit is masked (-inf) before choosing, so the talker never
  stops and runs to the length limit;
- ``temperature_twice``: the sampler divides the logits by the temperature twice: the logits
  are right, the sampled tokens are not — visible only when both sides take the same draws;
- ``stale_cache``: the KV cache keeps only the prompt (each new step's keys and values are
  used once, never stored): from step 2 the talker sees the prompt and one token, and loops.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from audioparity.examples.numpy_port import (
    apply_rope,
    apply_rope_interleaved,
    repeat_kv,
    rms_norm,
    rope_tables,
    silu,
)
from audioparity.generation import inverse_cdf

BUGS = ("rope_interleaved", "eos_suppressed", "temperature_twice", "stale_cache")
ROPE_LAYER = 0

Record = Callable[[str, np.ndarray], None]

#: the generation tests' loop settings (shared by the fixtures and the tests)
MAX_NEW = 16
SAMPLING = {"temperature": 0.7, "top_k": 40, "top_p": None}


@dataclass
class Qwen3Numpy:
    """The forward pass from a ``state_dict`` (float32 arrays) and the HF config."""

    w: dict[str, np.ndarray]
    cfg: object
    bug: str | None = None
    cache: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    position: int = 0

    def forward(self, ids: np.ndarray, record: Record) -> np.ndarray:
        """New token ids ``[1, T]`` after the cached ones -> the last position's logits
        ``[1, V]``; records every layer through ``record(name, array)``."""
        c = self.cfg
        t = ids.shape[1]
        cos, sin = rope_tables(self.position + t, c.head_dim, c.rope_parameters["rope_theta"])
        cos, sin = cos[:, self.position:], sin[:, self.position:]
        x = self.w["model.embed_tokens.weight"][ids]
        record("model.embed_tokens", x)
        for i in range(c.num_hidden_layers):
            p = f"model.layers.{i}"
            h = rms_norm(x, self.w[f"{p}.input_layernorm.weight"], c.rms_norm_eps)
            record(f"{p}.input_layernorm", h)
            x = x + self._attention(i, h, cos, sin, record)
            h = rms_norm(x, self.w[f"{p}.post_attention_layernorm.weight"], c.rms_norm_eps)
            record(f"{p}.post_attention_layernorm", h)
            gate = h @ self.w[f"{p}.mlp.gate_proj.weight"].T
            record(f"{p}.mlp.gate_proj", gate)
            act = silu(gate)
            record(f"{p}.mlp.act_fn", act)
            up = h @ self.w[f"{p}.mlp.up_proj.weight"].T
            record(f"{p}.mlp.up_proj", up)
            down = (act * up) @ self.w[f"{p}.mlp.down_proj.weight"].T
            record(f"{p}.mlp.down_proj", down)
            x = x + down
            record(p, x)
        x = rms_norm(x, self.w["model.norm.weight"], c.rms_norm_eps)
        record("model.norm", x)
        logits = x[:, -1:] @ self.w["lm_head.weight"].T  # generate() keeps the last position
        record("lm_head", logits)
        self.position += t
        return logits[:, -1]

    def _attention(self, i: int, h: np.ndarray, cos: np.ndarray, sin: np.ndarray,
                   record: Record) -> np.ndarray:
        c, p = self.cfg, f"model.layers.{i}.self_attn"
        b, t, _ = h.shape
        heads, kv, d = c.num_attention_heads, c.num_key_value_heads, c.head_dim

        def project(which: str, n: int) -> np.ndarray:
            y = h @ self.w[f"{p}.{which}_proj.weight"].T
            record(f"{p}.{which}_proj", y)
            return y.reshape(b, t, n, d)

        q = rms_norm(project("q", heads), self.w[f"{p}.q_norm.weight"], c.rms_norm_eps)
        record(f"{p}.q_norm", q)
        k = rms_norm(project("k", kv), self.w[f"{p}.k_norm.weight"], c.rms_norm_eps)
        record(f"{p}.k_norm", k)
        v = project("v", kv).transpose(0, 2, 1, 3)
        rope = apply_rope_interleaved if (self.bug == "rope_interleaved" and i == ROPE_LAYER) \
            else apply_rope
        q, k = rope(q.transpose(0, 2, 1, 3), cos, sin), rope(k.transpose(0, 2, 1, 3), cos, sin)
        record(f"{p}.apply_rotary_pos_emb", q)
        record(f"{p}.apply_rotary_pos_emb:out1", k)
        if len(self.cache) <= i:
            self.cache.append((k, v))
            keys, values = k, v
        else:
            old_k, old_v = self.cache[i]
            keys, values = np.concatenate([old_k, k], 2), np.concatenate([old_v, v], 2)
            if self.bug != "stale_cache":
                self.cache[i] = (keys, values)
        k_all, v_all = repeat_kv(keys, heads // kv), repeat_kv(values, heads // kv)
        scores = q @ k_all.transpose(0, 1, 3, 2) / np.float32(np.sqrt(d))
        total = k_all.shape[2]  # query j sits at position total - t + j: sees keys up to it
        visible = np.arange(total)[None, :] <= (total - t + np.arange(t))[:, None]
        scores = np.where(visible, scores, -np.inf)
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        out = (probs @ v_all).transpose(0, 2, 1, 3).reshape(b, t, heads * d).astype(np.float32)
        o = out @ self.w[f"{p}.o_proj.weight"].T
        record(f"{p}.o_proj", o)
        return o


def sample_probs(logits: np.ndarray, temperature: float, top_k: int | None,
                 bug: str | None) -> np.ndarray:
    """The port's sampler: temperature then top-k (as transformers' warpers), softmax."""
    scaled = logits / temperature
    if bug == "temperature_twice":
        scaled = scaled / temperature
    if top_k:
        kth = np.sort(scaled, axis=-1)[:, -top_k][:, None]
        scaled = np.where(scaled < kth, -np.inf, scaled)
    e = np.exp(scaled - scaled.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def generate(port: Qwen3Numpy, prompt: np.ndarray, gen, *, max_new_tokens: int, eos: int,
             sampling: dict | None = None, uniform: Callable[[], np.ndarray] | None = None
             ) -> list[int]:
    """The port's generation loop, recorded step by step in ``gen`` (a
    :class:`~audioparity.generation.GenerationRecorder`); ``uniform()`` gives each sampled
    step's uniform (a :class:`~audioparity.generation.Replay` or the port's own RNG)."""
    ids, out = prompt, []
    for _ in range(max_new_tokens):
        logits = port.forward(ids, gen.record)
        if port.bug == "eos_suppressed":
            logits = logits.copy()
            logits[:, eos] = -np.inf
        u = None
        if sampling is None:
            token = np.argmax(logits, axis=-1)
        else:
            u = uniform()
            token = inverse_cdf(sample_probs(logits, sampling["temperature"],
                                             sampling.get("top_k"), port.bug), u)
        gen.end_step(token=token, logits=logits, uniform=u, sampled=sampling is not None)
        out.append(int(token[0]))
        if out[-1] == eos:
            break
        ids = np.asarray(token, np.int64).reshape(1, 1)
    return out


def generate_batch(ports: list[Qwen3Numpy], prompts: np.ndarray, gen, *, max_new_tokens: int,
                   eos: int, stop_with_first: bool = False) -> np.ndarray:
    """A greedy batch: one port (its own KV cache) per sequence of ``prompts`` ``[B, T]``,
    stepped together and recorded as one ``[B]`` token and ``[B, V]`` logits per step; a
    finished sequence emits EOS from then on (as ``generate`` pads it) until every one has
    stopped. ``stop_with_first``: the batch bug of a loop written for one sequence — it ends
    when sequence 0 emits EOS, whatever the others do. Returns the tokens ``[B, steps]``."""
    ids = [prompts[b:b + 1] for b in range(len(ports))]
    done = np.zeros(len(ports), bool)
    out = []
    for _ in range(max_new_tokens):
        logits = np.concatenate([port.forward(x, lambda name, array: None)
                                 for port, x in zip(ports, ids, strict=True)])
        token = np.where(done, eos, np.argmax(logits, axis=-1))
        gen.end_step(token=token, logits=logits)
        out.append(token)
        done |= token == eos
        if done.all() or (stop_with_first and done[0]):
            break
        ids = [np.asarray(t, np.int64).reshape(1, 1) for t in token]
    return np.stack(out, axis=1)
