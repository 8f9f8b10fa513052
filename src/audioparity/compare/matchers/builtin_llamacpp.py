"""Built-in name map for llama.cpp traces of the Llama/Qwen family (no map file needed).

A trace written by :func:`audioparity.sources.llamacpp.capture_llamacpp` names its root
module ``llama.cpp:<general.architecture>`` and each node's op (``MUL_MAT``, ``ROPE`` …) in
its ``modules`` meta. For the architectures below, llama.cpp's graph nodes are the
transformers modules' outputs (and some of their inputs), layer by layer:

================================  ==============================================
llama.cpp node                    transformers tensor (``model.layers.i.`` …)
================================  ==============================================
``inp_embd``                      ``model.embed_tokens``
``attn_norm-i``                   ``input_layernorm``
``Qcur-i`` (projection, + bias)   ``self_attn.q_proj`` (``k_proj``, ``v_proj``)
``Qcur-i`` (reshaped into heads)  ``self_attn.q_norm:in0`` (Qwen3), else RoPE's ``:in0``
``Qcur_normed-i``                 ``self_attn.q_norm`` (``k_norm``)
``Qcur-i`` (``ROPE``)             ``self_attn.apply_rotary_pos_emb`` (``Kcur``: ``:out1``)
``kqv_out-i``                     ``self_attn.o_proj:in0``
``kqv_out-i+k`` (unnamed matmul)  ``self_attn.o_proj`` (``attn_out-i`` in ``llama``)
``ffn_inp-i``                     ``post_attention_layernorm:in0``
``ffn_norm-i``                    ``post_attention_layernorm``
``ffn_gate-i`` / ``ffn_up-i``     ``mlp.gate_proj`` / ``mlp.up_proj``
``ffn_swiglu-i``                  ``mlp.down_proj:in0``
``ffn_out-i``                     ``mlp``
``l_out-i``                       ``model.layers.i``
``result_norm``                   ``model.norm``
``result_output``                 ``lm_head`` (the root ``output`` when it is the
                                  logits again: the reference's final output)
================================  ==============================================

The reference may sit inside a wrapper (``lm.model.layers.0``): its prefix is read from
its names. llama.cpp's missing batch axis, split heads and tokens-first RoPE output are
read by the port conventions; so are the ``llama`` architecture's ``Qcur``/``Kcur``, whose
rows its converter permuted for llama.cpp's RoPE
(:mod:`~audioparity.compare.conventions.rope_rows`).
Pairs are ``aligned_by: map``; a user's map file wins over them. The nodes the map leaves
(llama.cpp's weightless ``norm-i`` before each norm's weight, KV-cache views, ``kq``,
permutes) have no module in a transformers capture: they are kept away from the order and
value guesses (which would pair them with the reference's recorded inputs and call the
difference a divergence) and reported as not aligned.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from ..mapping import split_name
from ..state import AlignState
from . import matcher

#: the root-module "class" a llama.cpp capture records: ``llama.cpp:<architecture>``
ROOT_KEY = "output"
RUNTIME_PREFIX = "llama.cpp:"


@dataclass(frozen=True)
class Family:
    """What differs between the architectures the map covers."""

    qk_norm: bool  # Qwen3: q_norm/k_norm before RoPE


FAMILIES = {
    "qwen3": Family(qk_norm=True),
    "qwen2": Family(qk_norm=False),
    "llama": Family(qk_norm=False),  # Q/K rows in llama.cpp's RoPE order: a port convention
}

GLOBAL_NODES = {"inp_embd": "model.embed_tokens", "embd": "model.embed_tokens",
                "result_norm": "model.norm",
                "result_output": "lm_head"}
#: layer node -> module path under ``model.layers.i`` ("" is the layer itself)
LAYER_NODES = {
    "attn_norm": "input_layernorm",
    "Qcur_normed": "self_attn.q_norm",
    "Kcur_normed": "self_attn.k_norm",
    "kqv_out": "self_attn.o_proj:in0",
    "attn_out": "self_attn.o_proj",  # named in the llama graph, unnamed in qwen's
    "ffn_inp": "post_attention_layernorm:in0",
    "ffn_norm": "post_attention_layernorm",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_swiglu": "mlp.down_proj:in0",
    "ffn_out": "mlp",
    "l_out": "",
}
#: ops that reshape a node without computing (ggml views)
_VIEW_OPS = {"RESHAPE", "VIEW", "PERMUTE", "TRANSPOSE", "CONT"}
_LAYER = re.compile(r"^(?P<node>[A-Za-z_]+)-(?P<il>\d+)(?:\+(?P<k>\d+))?$")
_LAYER_PATH = re.compile(r"^(?P<prefix>.*?)model\.layers\.\d+$")


def architecture(port_modules: dict[str, str]) -> str | None:
    """The GGUF architecture a llama.cpp capture recorded, or None for any other trace."""
    root = port_modules.get(ROOT_KEY, "")
    return root[len(RUNTIME_PREFIX):] if root.startswith(RUNTIME_PREFIX) else None


def reference_prefix(ref_names: list[str]) -> str | None:
    """The module path the reference's ``model.layers.N`` sit under (``""``, ``"lm."``)."""
    found = Counter(m.group("prefix") for n in ref_names
                    if (m := _LAYER_PATH.match(split_name(n)[1])))
    return found.most_common(1)[0][0] if found else None


def translate(port_names: list[str], ops: dict[str, str], family: Family
              ) -> dict[str, str]:
    """Port name -> reference name (without the reference's prefix), for the nodes the map
    knows. ``ops`` (trace name without step -> ggml op) picks among a name's repeats; without
    it the first repeat is the projection and the last the RoPE output."""
    groups: dict[tuple[str, str], list[str]] = {}
    for name in port_names:
        step, path, suffix = split_name(name)
        if suffix.startswith("#") or not suffix:
            groups.setdefault((step, path), []).append(name)
    out: dict[str, str] = {}
    for (step, path), names in groups.items():
        if path in GLOBAL_NODES:
            out[names[-1]] = step + GLOBAL_NODES[path]
            continue
        m = _LAYER.match(path)
        if not m:
            continue
        layer, node = f"model.layers.{m.group('il')}", m.group("node")
        if m.group("k"):
            continue  # unnamed: handled with its named predecessor below
        for port, ref in _layer_pairs(node, names, ops, family, groups, step, path):
            out[port] = step + (f"{layer}.{ref}" if ref else layer)
    return out


def _layer_pairs(node: str, names: list[str], ops: dict[str, str], family: Family,
                 groups: dict[tuple[str, str], list[str]], step: str, path: str
                 ) -> list[tuple[str, str]]:
    if node in ("Qcur", "Kcur", "Vcur"):
        return _projection_chain(node, names, ops, family)
    if node == "kqv_out":
        unnamed = sorted((p for s, p in groups if s == step and p.startswith(path + "+")),
                         key=lambda p: int(p.rsplit("+", 1)[1]))
        pairs = [(names[-1], LAYER_NODES[node])]
        after = [groups[(step, p)][-1] for p in unnamed]
        if after:
            pairs.append((_output_projection(after, ops), "self_attn.o_proj"))
        return pairs
    if node in LAYER_NODES:
        if node.endswith("_normed") and not family.qk_norm:
            return []
        return [(names[-1], LAYER_NODES[node])]
    return []


def _output_projection(unnamed: list[str], ops: dict[str, str]) -> str:
    """The attention output projection among the unnamed nodes after ``kqv_out-i``: the
    first ``MUL_MAT`` (or the ``ADD`` of its bias right after it); the last layer goes on
    with ``GET_ROWS`` of the output rows. Without ops: the first."""
    kinds = [_op(ops, n) for n in unnamed]
    k = next((k for k, op in enumerate(kinds) if op == "MUL_MAT"), 0)
    return unnamed[k + 1] if k + 1 < len(unnamed) and kinds[k + 1] == "ADD" else unnamed[k]


def _projection_chain(node: str, names: list[str], ops: dict[str, str], family: Family
                      ) -> list[tuple[str, str]]:
    """``Qcur-i``'s repeats: projection (+ bias), reshape into heads, RoPE."""
    proj = f"self_attn.{node[0].lower()}_proj"
    rope = "self_attn.apply_rotary_pos_emb" + {"Qcur": "", "Kcur": ":out1"}.get(node, "")
    kinds = [_op(ops, n) for n in names]
    if not any(kinds):  # no op recorded: first = projection, last = RoPE output
        pairs = [(names[0], proj)]
        if node != "Vcur" and len(names) > 1:
            pairs.append((names[-1], rope))
        return pairs
    first_view = next((k for k, op in enumerate(kinds) if op in _VIEW_OPS or op == "ROPE"),
                      len(names))
    pairs = [(names[first_view - 1], proj)] if first_view > 0 else []
    if node == "Vcur":
        return pairs
    if first_view < len(names) and kinds[first_view] in _VIEW_OPS:
        view_in = f"self_attn.{node[0].lower()}_norm:in0" if family.qk_norm else \
            rope.replace(":out1", "") + (":in1" if node == "Kcur" else ":in0")
        pairs.append((names[first_view], view_in))
    ropes = [n for n, op in zip(names, kinds, strict=True) if op == "ROPE"]
    if ropes:
        pairs.append((ropes[-1], rope))
    return pairs


def _op(ops: dict[str, str], name: str) -> str | None:
    return ops.get(name.split("/", 1)[-1] if name.startswith("@") else name)


def _root_is_logits(state: AlignState, step: str, lm_head: str) -> bool:
    """The reference's root output is ``lm_head``'s logits again (a bare causal LM)."""
    root, head = state.ref_info.get(step + ROOT_KEY), state.ref_info.get(lm_head)
    return root is not None and head is not None and root.shape == head.shape


@matcher(15, "map")
def match(state: AlignState) -> None:
    """Pair a llama.cpp capture's nodes with a transformers reference by the built-in map."""
    arch = architecture(state.port_modules)
    family = FAMILIES.get(arch or "")
    if family is None:
        if arch is not None:
            state.notes.append(f"llama.cpp architecture '{arch}' has no built-in name map: "
                               "aligned by order and values (or write a map file)")
        return
    prefix = reference_prefix([i.name for i in state.ref])
    if prefix is None:
        return
    taken = {r for r, _ in state.matched.values()}
    free = [i.name for i in state.port if i.name not in state.matched]
    paired = 0
    for port, ref in translate(free, state.port_modules, family).items():
        step, path, suffix = split_name(ref)
        ref = step + prefix + path + suffix
        if path == "lm_head" and _root_is_logits(state, step, ref):
            ref = step + ROOT_KEY  # the reference's final output: paired, not "missing"
        info = state.ref_info.get(ref)
        if info is None or ref in taken or not state.compatible(info, state.port_info[port]):
            continue
        state.pair(port, ref, "map")
        taken.add(ref)
        paired += 1
    if not paired:
        return
    internal = len(state.port) - len(state.matched)
    state.notes.append(f"llama.cpp {arch}: {paired} nodes paired by the built-in name map; "
                       f"{internal} llama.cpp-internal nodes (views, KV cache, kq, norms "
                       "before their weight) have no reference module: left unaligned")
    # later matchers see only the paired nodes (a new list: align() keeps the full one
    # to report what stayed unaligned)
    state.port = [i for i in state.port if i.name in state.matched]
    state.port_pos = {i.name: k for k, i in enumerate(state.port)}
