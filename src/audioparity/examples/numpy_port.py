"""A pure-NumPy port of the demo reference (:mod:`audioparity.examples.reference`).

It reimplements the whole forward pass — embedding, RMSNorm, q/k/v projections, Qwen3's
per-head q/k norms, half-split RoPE, grouped-query attention with a causal mask, o_proj,
SwiGLU MLP, final norm, lm_head, and the vocoder head with its own overlap-add ISTFT — from
the reference's ``state_dict`` saved as safetensors, and records every intermediate under
the names the torch capture gives the same modules. With no bugs its trace matches the
reference to float32 rounding.

Bugs real ports had (seed 000 and friends) can be planted, each at one layer; the trace
entry each first changes is in :data:`BUG_KINDS`:

- ``rope_interleaved``: rotates dims (2i, 2i+1) together instead of (i, i + d/2)
  -> ``...self_attn.apply_rotary_pos_emb``
- ``no_qk_norm``: Qwen2-style attention, no q_norm / k_norm (so none recorded)
  -> ``...self_attn.apply_rotary_pos_emb``
- ``norm_eps``: input_layernorm epsilon 1e-3 instead of the config's -> ``...input_layernorm``
- ``mlp_act``: exact GELU instead of SiLU in the MLP -> ``...mlp.act_fn``
- ``attn_no_causal_mask``: attention sees future positions -> ``...self_attn.o_proj``
- ``gqa_tiled``: kv heads tiled (h0 h1 h0 h1) instead of repeated per group
  -> ``...self_attn.o_proj``
- ``istft_scale``: an extra ``1/n_fft`` on the inverse FFT -> ``vocoder.istft``
- ``istft_pad``: drops ``n_fft/2`` samples at the start instead of ``(n_fft - hop)/2``
  (audio shifted by ``hop/2`` samples) -> ``vocoder.istft``

>>> port = NumpyPort.from_safetensors("weights.safetensors", DemoConfig(),
...                                   bugs={"rope_interleaved": 0})
>>> port.trace(input_ids, "port.safetensors")
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from ..trace import TraceWriter, open_trace
from .reference import DemoConfig

#: bug kind -> first trace entry it changes (``{layer}`` = the chosen layer index)
BUG_KINDS: dict[str, str] = {
    "rope_interleaved": "lm.model.layers.{layer}.self_attn.apply_rotary_pos_emb",
    "no_qk_norm": "lm.model.layers.{layer}.self_attn.apply_rotary_pos_emb",
    "norm_eps": "lm.model.layers.{layer}.input_layernorm",
    "mlp_act": "lm.model.layers.{layer}.mlp.act_fn",
    "attn_no_causal_mask": "lm.model.layers.{layer}.self_attn.o_proj",
    "gqa_tiled": "lm.model.layers.{layer}.self_attn.o_proj",
    "istft_scale": "vocoder.istft",
    "istft_pad": "vocoder.istft",
}
#: the epsilon the ``norm_eps`` bug uses
BUGGY_NORM_EPS = 1e-3

Recorder = Callable[[str, np.ndarray], None]


class NumpyPort:
    """The demo model's forward pass in NumPy, recording every intermediate.

    Parameters
    ----------
    weights
        Reference ``state_dict`` tensors by name (``lm.model.layers.0.self_attn.q_proj.weight``
        ...), float32.
    config
        The sizes the reference was built with.
    bugs
        Bug kind -> layer index where it is planted (ignored for the vocoder kinds); see
        :data:`BUG_KINDS`.
    """

    def __init__(self, weights: Mapping[str, np.ndarray], config: DemoConfig | None = None,
                 bugs: Mapping[str, int | None] | None = None):
        self.w = {k: np.asarray(v, np.float32) for k, v in weights.items()}
        self.cfg = config or DemoConfig()
        self.bugs = dict(bugs or {})
        unknown = set(self.bugs) - set(BUG_KINDS)
        if unknown:
            raise ValueError(f"unknown bug kind(s) {sorted(unknown)}; known: {sorted(BUG_KINDS)}")

    @classmethod
    def from_safetensors(cls, path: str | Path, config: DemoConfig | None = None,
                         bugs: Mapping[str, int | None] | None = None) -> NumpyPort:
        """Load the reference weights from a safetensors file (see ``reference.save_weights``)."""
        with open_trace(path) as trace:
            weights = {name: np.array(trace.read(name), np.float32) for name in trace.names}
        return cls(weights, config, bugs)

    def trace(self, input_ids: np.ndarray, path: str | Path | None = None,
              ) -> dict[str, np.ndarray]:
        """Run the forward pass and record it.

        Returns every recorded tensor by name (execution order); with ``path``, also streams
        them into a native trace there (written atomically when the pass completes).
        """
        tensors: dict[str, np.ndarray] = {}
        if path is None:
            self.forward(input_ids, tensors.__setitem__)
            return tensors
        meta = {"source": "numpy_port", "bugs": self.bugs, "config": self.cfg.to_dict()}
        with TraceWriter(path, meta) as writer:
            def record(name: str, value: np.ndarray) -> None:
                tensors[name] = value
                writer.add(name, value)

            self.forward(input_ids, record)
        return tensors

    def forward(self, input_ids: np.ndarray, record: Recorder | None = None,
                ) -> tuple[np.ndarray, np.ndarray]:
        """Token ids ``(B, T)`` -> (audio ``(B, T * hop_length)``, logits ``(B, T, vocab)``)."""
        rec = record or (lambda name, value: None)
        ids = np.asarray(input_ids, np.int64)
        hidden = self._language_model(ids, rec)
        logits = hidden @ self.w["lm.lm_head.weight"].T
        rec("lm.lm_head", logits)
        audio = self._vocoder(hidden, rec)
        rec("output", audio)
        rec("output:out1", logits)
        return audio, logits

    # --- language model -------------------------------------------------------------------

    def _language_model(self, ids: np.ndarray, rec: Recorder) -> np.ndarray:
        x = self.w["lm.model.embed_tokens.weight"][ids]
        rec("lm.model.embed_tokens", x)
        cos, sin = rope_tables(ids.shape[1], self.cfg.head_dim, self.cfg.rope_theta)
        rec("lm.model.rotary_emb", cos)
        rec("lm.model.rotary_emb:out1", sin)
        for layer in range(self.cfg.num_hidden_layers):
            x = self._decoder_layer(layer, x, cos, sin, rec)
        x = rms_norm(x, self.w["lm.model.norm.weight"], self.cfg.rms_norm_eps)
        rec("lm.model.norm", x)
        rec("lm.model", x)
        return x

    def _bug(self, kind: str, layer: int) -> bool:
        return kind in self.bugs and self.bugs[kind] == layer

    def _decoder_layer(self, layer: int, x: np.ndarray, cos: np.ndarray, sin: np.ndarray,
                       rec: Recorder) -> np.ndarray:
        p = f"lm.model.layers.{layer}"
        eps = BUGGY_NORM_EPS if self._bug("norm_eps", layer) else self.cfg.rms_norm_eps
        h = rms_norm(x, self.w[f"{p}.input_layernorm.weight"], eps)
        rec(f"{p}.input_layernorm", h)
        x = x + self._attention(layer, h, cos, sin, rec)
        h = rms_norm(x, self.w[f"{p}.post_attention_layernorm.weight"], self.cfg.rms_norm_eps)
        rec(f"{p}.post_attention_layernorm", h)
        x = x + self._mlp(layer, h, rec)
        rec(p, x)
        return x

    def _attention(self, layer: int, h: np.ndarray, cos: np.ndarray, sin: np.ndarray,
                   rec: Recorder) -> np.ndarray:
        p = f"lm.model.layers.{layer}.self_attn"
        cfg = self.cfg
        batch, seq, _ = h.shape
        heads, kv_heads, d = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim

        def project(which: str, n_heads: int) -> np.ndarray:
            y = h @ self.w[f"{p}.{which}_proj.weight"].T
            rec(f"{p}.{which}_proj", y)
            return y.reshape(batch, seq, n_heads, d)

        def head_norm(which: str, y: np.ndarray) -> np.ndarray:
            if self._bug("no_qk_norm", layer):  # a Qwen2-style port has no such module
                return y
            y = rms_norm(y, self.w[f"{p}.{which}_norm.weight"], cfg.rms_norm_eps)
            rec(f"{p}.{which}_norm", y)
            return y

        q = head_norm("q", project("q", heads)).transpose(0, 2, 1, 3)  # (B, heads, T, d)
        k = head_norm("k", project("k", kv_heads)).transpose(0, 2, 1, 3)
        v = project("v", kv_heads).transpose(0, 2, 1, 3)

        rope = apply_rope_interleaved if self._bug("rope_interleaved", layer) else apply_rope
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        rec(f"{p}.apply_rotary_pos_emb", q)
        rec(f"{p}.apply_rotary_pos_emb:out1", k)

        group = heads // kv_heads
        expand = tile_kv if self._bug("gqa_tiled", layer) else repeat_kv
        k, v = expand(k, group), expand(v, group)
        causal = not self._bug("attn_no_causal_mask", layer)
        out = attention(q, k, v, causal=causal)  # (B, heads, T, d)
        out = out.transpose(0, 2, 1, 3).reshape(batch, seq, heads * d)
        out = out @ self.w[f"{p}.o_proj.weight"].T
        rec(f"{p}.o_proj", out)
        rec(p, out)
        return out

    def _mlp(self, layer: int, h: np.ndarray, rec: Recorder) -> np.ndarray:
        p = f"lm.model.layers.{layer}.mlp"
        gate = h @ self.w[f"{p}.gate_proj.weight"].T
        rec(f"{p}.gate_proj", gate)
        act = gelu(gate) if self._bug("mlp_act", layer) else silu(gate)
        rec(f"{p}.act_fn", act)
        up = h @ self.w[f"{p}.up_proj.weight"].T
        rec(f"{p}.up_proj", up)
        out = (act * up) @ self.w[f"{p}.down_proj.weight"].T
        rec(f"{p}.down_proj", out)
        rec(p, out)
        return out

    # --- vocoder --------------------------------------------------------------------------

    def _vocoder(self, hidden: np.ndarray, rec: Recorder) -> np.ndarray:
        w = self.w
        x = conv1d(hidden.transpose(0, 2, 1), w["vocoder.conv.weight"], w["vocoder.conv.bias"])
        rec("vocoder.conv", x)
        x = layer_norm(x.transpose(0, 2, 1), w["vocoder.norm.weight"], w["vocoder.norm.bias"],
                       1e-6)
        rec("vocoder.norm", x)
        x = x @ w["vocoder.out.weight"].T + w["vocoder.out.bias"]
        rec("vocoder.out", x)
        log_mag, phase = np.split(x.transpose(0, 2, 1), 2, axis=1)
        spec = np.minimum(np.exp(log_mag), 100.0) * np.exp(1j * phase)
        n_fft, hop = self.cfg.n_fft, self.cfg.hop_length
        pad = n_fft // 2 if "istft_pad" in self.bugs else (n_fft - hop) // 2
        audio = istft_same(spec, n_fft, hop, pad_start=pad)
        if "istft_scale" in self.bugs:
            audio = audio / n_fft
        rec("vocoder.istft", audio)
        rec("vocoder", audio)
        return audio


# --- the maths, as pure functions on arrays --------------------------------------------------

def rms_norm(x: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
    """RMSNorm over the last axis: ``weight * x / sqrt(mean(x**2) + eps)``."""
    x32 = x.astype(np.float32)
    variance = np.mean(x32 * x32, axis=-1, keepdims=True)
    return weight * (x32 / np.sqrt(variance + np.float32(eps)))


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    """LayerNorm over the last axis (biased variance, as torch)."""
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + np.float32(eps)) * weight + bias


def rope_tables(seq_len: int, head_dim: int, theta: float) -> tuple[np.ndarray, np.ndarray]:
    """HF rotary tables ``cos, sin`` of shape ``(1, seq_len, head_dim)`` (halves repeated)."""
    inv_freq = 1.0 / (theta ** (np.arange(0, head_dim, 2, dtype=np.int64).astype(np.float32)
                                / head_dim))
    freqs = np.arange(seq_len, dtype=np.float32)[:, None] * inv_freq.astype(np.float32)[None]
    emb = np.concatenate([freqs, freqs], axis=-1)[None]
    return np.cos(emb).astype(np.float32), np.sin(emb).astype(np.float32)


def apply_rope(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """Half-split RoPE (HF ``rotate_half``): dims ``i`` and ``i + d/2`` rotate together.

    ``x``: ``(B, heads, T, d)``; ``cos``/``sin``: ``(1, T, d)``.
    """
    half = x.shape[-1] // 2
    rotated = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * cos[:, None] + rotated * sin[:, None]


def apply_rope_interleaved(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """Interleaved RoPE (GPT-J / candle ``rope``): dims ``2i`` and ``2i + 1`` rotate together.

    The bug of seed 000: same tables, wrong pairing.
    """
    half = x.shape[-1] // 2
    c, s = cos[:, None, :, :half], sin[:, None, :, :half]
    even, odd = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = even * c - odd * s
    out[..., 1::2] = odd * c + even * s
    return out


def repeat_kv(x: np.ndarray, group: int) -> np.ndarray:
    """GQA: each kv head serves ``group`` consecutive query heads (HF ``repeat_kv``)."""
    return np.repeat(x, group, axis=1)


def tile_kv(x: np.ndarray, group: int) -> np.ndarray:
    """The wrong GQA expansion: kv heads cycled (``h0 h1 h0 h1``) instead of repeated."""
    return np.tile(x, (1, group, 1, 1))


def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, causal: bool = True) -> np.ndarray:
    """Scaled dot-product attention on ``(B, heads, T, d)``, softmax in float32."""
    scores = q @ k.transpose(0, 1, 3, 2) / np.float32(math.sqrt(q.shape[-1]))
    if causal:
        t = scores.shape[-1]
        scores = np.where(np.tril(np.ones((t, t), bool)), scores, -np.inf)
    scores = scores - scores.max(axis=-1, keepdims=True)
    probs = np.exp(scores)
    probs /= probs.sum(axis=-1, keepdims=True)
    return (probs @ v).astype(np.float32)


def silu(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-x))


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU."""
    from scipy.special import erf

    return (0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))).astype(np.float32)


def conv1d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """"Same" 1-D convolution, PyTorch layout: ``x (B, C_in, T)``, ``weight (C_out, C_in, K)``."""
    k = weight.shape[-1]
    xp = np.pad(x, ((0, 0), (0, 0), (k // 2, (k - 1) // 2)))
    t = x.shape[-1]
    windows = np.stack([xp[:, :, j:j + t] for j in range(k)], axis=-1)  # (B, C_in, T, K)
    return np.einsum("bctk,ock->bot", windows, weight) + bias[None, :, None]


def istft_same(spec: np.ndarray, n_fft: int, hop_length: int,
               pad_start: int | None = None) -> np.ndarray:
    """Inverse STFT with Vocos "same" padding, by explicit overlap-add.

    ``spec``: complex ``(B, n_fft/2 + 1, T)``; returns ``(B, T * hop_length)`` samples.
    Frames are ``irfft`` (which divides by ``n_fft``), Hann-windowed and overlap-added,
    then ``pad_start`` samples (default ``(n_fft - hop_length) / 2``) are dropped at the
    start and the sum is divided by the squared-window envelope.
    """
    pad = (n_fft - hop_length) // 2 if pad_start is None else pad_start
    batch, _, frames = spec.shape
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
    ifft = np.fft.irfft(spec, n=n_fft, axis=1).astype(np.float32) * window[None, :, None]
    length = (frames - 1) * hop_length + n_fft
    out = np.zeros((batch, length), np.float32)
    envelope = np.zeros(length, np.float32)
    for t in range(frames):
        out[:, t * hop_length: t * hop_length + n_fft] += ifft[:, :, t]
        envelope[t * hop_length: t * hop_length + n_fft] += window ** 2
    keep = slice(pad, pad + frames * hop_length)
    return out[:, keep] / envelope[keep]
