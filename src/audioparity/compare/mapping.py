"""Map rules: how a port's tensor names translate to the reference's.

A map file (YAML ``.yaml/.yml`` or TOML ``.toml``) may hold, all optional::

    pairs:                      # explicit: reference name -> port name
      model.norm: output_norm
    rename:                     # patterns, reference -> port; {x} matches within one
                                # dotted component (a layer index, a projection letter)
      "model.layers.{i}.self_attn.q_proj": "blk.{i}.attn_q"
    regex:                      # port regex -> reference replacement (re.sub syntax)
      - ['^blk\\.(\\d+)\\.ffn_up$', 'model.layers.\\1.mlp.up_proj']
    strip_prefix: "decoder."    # removed from port names (a string or a list)
    add_prefix: ""              # added to port names after stripping
    tolerances:                 # per-name overrides; keys are globs on reference names
      "model.layers.*.mlp": {rtol: 1.0e-3, atol: 1.0e-5}

Rules act on the module path only: a step prefix ``@k/`` and the suffixes ``:out1``,
``:in0`` and ``#1`` are kept as they are.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputError

_PARTS = re.compile(r"^(@\d+/)?(.*?)((?:#\d+)?(?::(?:in|out)\d+)?)$")


def split_name(name: str) -> tuple[str, str, str]:
    """Split ``@3/model.mlp#1:out1`` into (``@3/``, ``model.mlp``, ``#1:out1``)."""
    m = _PARTS.match(name)
    assert m is not None
    return m.group(1) or "", m.group(2), m.group(3)


def module_path(name: str) -> str:
    """The module path of a trace name (no step prefix, no suffixes)."""
    return split_name(name)[1]


def _pattern_regex(pattern: str) -> tuple[re.Pattern[str], list[str]]:
    keys: list[str] = []
    out = []
    for piece in re.split(r"(\{\w+\})", pattern):
        if piece.startswith("{") and piece.endswith("}"):
            keys.append(piece[1:-1])
            out.append(rf"(?P<{piece[1:-1]}>[^./:#]+?)")
        else:
            out.append(re.escape(piece))
    return re.compile("".join(out)), keys


@dataclass
class Tolerance:
    rtol: float | None = None
    atol: float | None = None


@dataclass
class MapRules:
    """Port -> reference name translation plus per-name tolerances."""

    pairs: dict[str, str] = field(default_factory=dict)
    rename: dict[str, str] = field(default_factory=dict)
    regex: list[tuple[str, str]] = field(default_factory=list)
    strip_prefix: list[str] = field(default_factory=list)
    add_prefix: str = ""
    tolerances: dict[str, Tolerance] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._port_to_ref = {v: k for k, v in self.pairs.items()}
        self._rename = []
        for ref_pat, port_pat in self.rename.items():
            rx, _ = _pattern_regex(port_pat)
            self._rename.append((rx, ref_pat))
        self._regex = [(re.compile(p), r) for p, r in self.regex]

    def to_ref(self, port_name: str) -> str:
        """The reference-side name a port name stands for."""
        if port_name in self._port_to_ref:
            return self._port_to_ref[port_name]
        step, path, suffix = split_name(port_name)
        if path in self._port_to_ref:
            return step + self._port_to_ref[path] + suffix
        for prefix in self.strip_prefix:
            if prefix and path.startswith(prefix):
                path = path[len(prefix):]
                break
        path = self.add_prefix + path
        for rx, ref_pat in self._rename:
            m = rx.fullmatch(path)
            if m:
                path = ref_pat.format(**m.groupdict())
                break
        else:
            for rx, repl in self._regex:
                new = rx.sub(repl, path)
                if new != path:
                    path = new
                    break
        return step + path + suffix

    def tolerance_for(self, ref_name: str) -> Tolerance | None:
        path = module_path(ref_name)
        for pattern, tol in self.tolerances.items():
            if fnmatch.fnmatchcase(ref_name, pattern) or fnmatch.fnmatchcase(path, pattern):
                return tol
        return None

    @property
    def is_empty(self) -> bool:
        return not (self.pairs or self.rename or self.regex or self.strip_prefix
                    or self.add_prefix)


def load_rules(path: str | Path) -> MapRules:
    """Read a YAML or TOML map file (see module docstring)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(p, f"cannot read map file: {exc}") from None
    try:
        data = tomllib.loads(text) if p.suffix.lower() == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise InputError(p, f"map file does not parse: {first}") from None
    return rules_from_dict(data or {}, p)


def rules_from_dict(data: Any, source: str | Path | None = None) -> MapRules:
    if not isinstance(data, dict):
        raise InputError(source, "map file must hold a mapping at top level")
    known = {"pairs", "rename", "regex", "strip_prefix", "add_prefix", "tolerances"}
    unknown = set(data) - known
    if unknown:
        raise InputError(source, f"unknown map keys {sorted(unknown)} (known: {sorted(known)})")
    try:
        strip = data.get("strip_prefix") or []
        tolerances = {str(k): Tolerance(v.get("rtol"), v.get("atol"))
                      for k, v in (data.get("tolerances") or {}).items()}
        return MapRules(
            pairs={str(k): str(v) for k, v in (data.get("pairs") or {}).items()},
            rename={str(k): str(v) for k, v in (data.get("rename") or {}).items()},
            regex=[(str(p), str(r)) for p, r in (data.get("regex") or [])],
            strip_prefix=[strip] if isinstance(strip, str) else [str(s) for s in strip],
            add_prefix=str(data.get("add_prefix") or ""),
            tolerances=tolerances,
        )
    except (AttributeError, TypeError, ValueError, re.error) as exc:
        raise InputError(source, f"malformed map rules: {exc}") from None
