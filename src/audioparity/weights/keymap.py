"""Which port tensor is which reference tensor: names, prefixes, renames, spellings.

Matching runs in this order, each step on what the previous ones left:

1. **map rules** (optional): a map file (docs/map-files.md, the format ``compare --map``
   reads: ``pairs``, ``rename``, ``regex``, prefixes; port -> reference) renames port names
   first; ``llama.cpp`` names a built-in set for GGUF files converted by llama.cpp
   (``blk.N.attn_q.weight`` ...), which :func:`default_rules` picks for such names;
2. **exact** names, with weight-norm spellings (``weight_g``/``weight_v`` and
   ``parametrizations.weight.original0/1``) taken as the same name;
3. **prefix rules** found by vote: a port name and a reference name that share their
   longest dotted suffix propose "port prefix B stands for ref prefix A"; rules are kept
   by how many tensors they explain (``decoder.`` for ``decoder.estimator.``);
4. **fused weight norm**: ref ``X.weight_g`` + ``X.weight_v`` against port ``X.weight``
   (or the reverse); the audit verifies ``weight == g·v/‖v‖`` numerically;
5. **packed / split** projections: a port tensor whose rows are the concatenation of
   sibling reference tensors (``qkv_proj`` = ``q_proj|k_proj|v_proj``,
   ``gate_up_proj`` = ``gate_proj|up_proj``), or the reverse, found by shape and value.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..compare.mapping import MapRules, rules_from_arrow_lines
from ..compare.mapping import load_rules as load_map_file
from ..trace import TensorInfo
from . import weight_norm as wn

LLAMA_CPP_RULES = r"""
token_embd\.weight -> model.embed_tokens.weight
output_norm\.weight -> model.norm.weight
output\.weight -> lm_head.weight
blk\.(\d+)\.attn_q\.(weight|bias) -> model.layers.\1.self_attn.q_proj.\2
blk\.(\d+)\.attn_k\.(weight|bias) -> model.layers.\1.self_attn.k_proj.\2
blk\.(\d+)\.attn_v\.(weight|bias) -> model.layers.\1.self_attn.v_proj.\2
blk\.(\d+)\.attn_output\.(weight|bias) -> model.layers.\1.self_attn.o_proj.\2
blk\.(\d+)\.attn_q_norm\.weight -> model.layers.\1.self_attn.q_norm.weight
blk\.(\d+)\.attn_k_norm\.weight -> model.layers.\1.self_attn.k_norm.weight
blk\.(\d+)\.attn_norm\.weight -> model.layers.\1.input_layernorm.weight
blk\.(\d+)\.ffn_norm\.weight -> model.layers.\1.post_attention_layernorm.weight
blk\.(\d+)\.ffn_gate\.weight -> model.layers.\1.mlp.gate_proj.weight
blk\.(\d+)\.ffn_up\.weight -> model.layers.\1.mlp.up_proj.weight
blk\.(\d+)\.ffn_down\.weight -> model.layers.\1.mlp.down_proj.weight
"""

_BUILTIN_RULES = {"llama.cpp": LLAMA_CPP_RULES}
_MAX_SUFFIX_CANDIDATES = 8


@dataclass
class Match:
    """Reference tensor(s) and the port tensor(s) that hold them.

    ``how`` is one of ``exact``, ``map``, ``prefix``, ``weight_norm_spelling``,
    ``weight_norm_fused`` (ref g+v, port fused), ``weight_norm_split`` (ref fused, port
    g+v), ``packed`` (port one tensor, ref several), ``split`` (port several, ref one).
    """

    ref: list[str]
    port: list[str]
    how: str
    detail: str = ""


@dataclass
class PrefixRule:
    """Port names starting with ``port_prefix`` stand for ref names with ``ref_prefix``."""

    ref_prefix: str
    port_prefix: str
    count: int = 0

    def describe(self) -> str:
        if not self.port_prefix:
            return f"port strips prefix '{self.ref_prefix}'"
        if not self.ref_prefix:
            return f"port adds prefix '{self.port_prefix}'"
        return f"port prefix '{self.port_prefix}' stands for ref prefix '{self.ref_prefix}'"


@dataclass
class KeyMatching:
    matches: list[Match] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    prefix_rules: list[PrefixRule] = field(default_factory=list)
    #: port name -> the reference-style name it was read as (after map + prefix rules)
    mapped: dict[str, str] = field(default_factory=dict)


def load_rules(spec: str | Path | None) -> MapRules | None:
    """Map rules for ``weights --map``: a map file (the same YAML/TOML format and loader as
    ``compare --map``, port -> reference, see docs/map-files.md; plain-text
    ``PORT_REGEX -> REF_REPLACEMENT`` lines are read as ``regex`` rules), or the built-in
    set name ``llama.cpp``."""
    if spec is None:
        return None
    if str(spec) in _BUILTIN_RULES:
        return rules_from_arrow_lines(_BUILTIN_RULES[str(spec)], str(spec))
    return load_map_file(spec)


def default_rules(port_names: list[str]) -> MapRules | None:
    """The built-in ``llama.cpp`` rules when the port uses llama.cpp's tensor names
    (``blk.N.*``), else None."""
    if any(n.startswith("blk.") for n in port_names):
        return load_rules("llama.cpp")
    return None


def _apply_rules(name: str, rules: MapRules | list[tuple[re.Pattern, str]] | None) -> str:
    """The reference-style name the map rules read ``name`` as (itself when none applies)."""
    if rules is None:
        return name
    if isinstance(rules, MapRules):
        return rules.to_ref(name)
    for pattern, repl in rules:  # a list of (compiled regex, replacement): full match
        m = pattern.fullmatch(name)
        if m:
            return m.expand(repl)
    return name


def _vote_prefixes(left_ref: set[str], left_port: dict[str, str]) -> list[tuple[str, str]]:
    index: dict[str, list[str]] = defaultdict(list)
    for r in left_ref:
        parts = r.split(".")
        for i in range(len(parts)):
            index[".".join(parts[i:])].append(r)
    votes: Counter = Counter()
    for name in left_port.values():
        parts = name.split(".")
        for i in range(len(parts)):
            suffix = ".".join(parts[i:])
            cands = index.get(suffix)
            if not cands:
                continue
            if len(cands) > _MAX_SUFFIX_CANDIDATES or (len(parts) - i < 2 and len(cands) > 1):
                break
            for r in cands:
                votes[(r[: len(r) - len(suffix)], name[: len(name) - len(suffix)])] += 1
            break
    return [rule for rule, _ in votes.most_common()]


def match_keys(ref: list[TensorInfo], port: list[TensorInfo],
               read_ref: Callable[[str], np.ndarray], read_port: Callable[[str], np.ndarray],
               rules: MapRules | list[tuple[re.Pattern, str]] | None = None) -> KeyMatching:
    """Pair every reference tensor with its port counterpart(s); see the module docstring.

    ``read_ref`` / ``read_port`` are used only to confirm packed/split candidates by value.
    """
    ref_info = {i.name: i for i in ref}
    port_info = {i.name: i for i in port}
    out = KeyMatching()
    mapped = {p: _apply_rules(p, rules) for p in port_info}
    canon_ref = {wn.canonical_name(r): r for r in ref_info}
    left_ref = set(canon_ref)
    left_port: dict[str, str] = {}  # port name -> canonical mapped name
    for p, m in mapped.items():
        c = wn.canonical_name(m)
        if c in left_ref:
            r = canon_ref[c]
            how = "exact" if r == p else "map" if m != p else "weight_norm_spelling"
            out.matches.append(Match([r], [p], how))
            left_ref.discard(c)
        else:
            left_port[p] = c

    for ref_prefix, port_prefix in _vote_prefixes(left_ref, left_port):
        rule = PrefixRule(ref_prefix, port_prefix)
        for p, c in list(left_port.items()):
            if not c.startswith(port_prefix):
                continue
            cand = ref_prefix + c[len(port_prefix):]
            if cand in left_ref and ref_info[canon_ref[cand]].numel == port_info[p].numel:
                out.matches.append(Match([canon_ref[cand]], [p], "prefix", rule.describe()))
                left_ref.discard(cand)
                del left_port[p]
                rule.count += 1
        if rule.count:
            out.prefix_rules.append(rule)
    for p, c in left_port.items():  # read leftovers through the rules found
        for rule in out.prefix_rules:
            if c.startswith(rule.port_prefix):
                left_port[p] = rule.ref_prefix + c[len(rule.port_prefix):]
                break
    out.mapped = {p: mapped[p] for p in port_info}
    out.mapped.update(left_port)

    _match_weight_norm(out, left_ref, left_port, canon_ref)
    _match_packed(out, left_ref, left_port, canon_ref, ref_info, port_info, read_ref, read_port)
    out.missing = sorted(canon_ref[c] for c in left_ref)
    out.unexpected = sorted(left_port)
    return out


def _match_weight_norm(out: KeyMatching, left_ref: set[str], left_port: dict[str, str],
                       canon_ref: dict[str, str]) -> None:
    by_name = {c: p for p, c in left_port.items()}
    for c in sorted(left_ref):
        if not c.endswith(".weight_g"):
            continue
        module = c[: -len(".weight_g")]
        v = f"{module}.weight_v"
        fused = by_name.get(f"{module}.weight")
        if v in left_ref and fused is not None:
            out.matches.append(Match([canon_ref[c], canon_ref[v]], [fused], "weight_norm_fused"))
            left_ref -= {c, v}
            del left_port[fused]
    for c in sorted(left_ref):
        if not c.endswith(".weight"):
            continue
        module = c[: -len(".weight")]
        g, v = by_name.get(f"{module}.weight_g"), by_name.get(f"{module}.weight_v")
        if g is not None and v is not None:
            out.matches.append(Match([canon_ref[c]], [g, v], "weight_norm_split"))
            left_ref.discard(c)
            del left_port[g]
            del left_port[v]


def _concat_equal(one: np.ndarray, parts: list[np.ndarray]) -> bool:
    cat = np.concatenate([np.asarray(x, dtype=np.float32) for x in parts], axis=0)
    a = np.asarray(one, dtype=np.float32)
    scale = float(np.max(np.abs(a))) or 1.0
    return cat.shape == a.shape and float(np.max(np.abs(cat - a))) <= 1e-2 * scale


def _find_parts(one: TensorInfo, key: str, pool: dict[str, TensorInfo],
                read_one: Callable[[], np.ndarray], read_many: Callable[[str], np.ndarray],
                ) -> list[str] | None:
    parent, _, leaf = key.rpartition(".")
    grand = parent.rpartition(".")[0]
    sibs = [n for n, i in pool.items()
            if n.rpartition(".")[2] == leaf and n.rpartition(".")[0].rpartition(".")[0] == grand
            and i.shape[1:] == one.shape[1:] and len(i.shape) == len(one.shape) and n != key]
    if not one.shape or len(sibs) < 2:
        return None
    cache: dict[str, np.ndarray] = {}
    for k in (2, 3):
        for combo in itertools.permutations(sorted(sibs), k):
            if sum(pool[n].shape[0] for n in combo) != one.shape[0]:
                continue
            if key not in cache:
                cache[key] = read_one()
            for n in combo:
                if n not in cache:
                    cache[n] = read_many(n)
            if _concat_equal(cache[key], [cache[n] for n in combo]):
                return list(combo)
    return None


def _match_packed(out: KeyMatching, left_ref: set[str], left_port: dict[str, str],
                  canon_ref: dict[str, str], ref_info: dict[str, TensorInfo],
                  port_info: dict[str, TensorInfo], read_ref: Callable, read_port: Callable,
                  ) -> None:
    ref_pool = {c: ref_info[canon_ref[c]] for c in left_ref}
    for p, c in sorted(left_port.items()):
        parts = _find_parts(port_info[p], c, ref_pool, lambda p=p: read_port(p),
                            lambda n: read_ref(canon_ref[n]))
        if parts:
            names = [canon_ref[n] for n in parts]
            out.matches.append(Match(names, [p], "packed",
                                     f"port rows = concat({', '.join(names)})"))
            for n in parts:
                left_ref.discard(n)
                del ref_pool[n]
            del left_port[p]
    port_pool = {c: port_info[p] for p, c in left_port.items()}
    by_c = {c: p for p, c in left_port.items()}
    for c in sorted(left_ref):
        r = canon_ref[c]
        parts = _find_parts(ref_info[r], c, port_pool, lambda r=r: read_ref(r),
                            lambda n: read_port(by_c[n]))
        if parts:
            names = [by_c[n] for n in parts]
            out.matches.append(Match([r], names, "split",
                                     f"ref rows = concat({', '.join(names)})"))
            left_ref.discard(c)
            for n in parts:
                del port_pool[n]
                del left_port[by_c[n]]
