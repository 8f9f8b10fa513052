"""Map files: how a port's tensor names translate to the reference's (one direction: port → ref).

The same file and loader serve ``compare --map`` (activation traces) and ``weights --map``
(checkpoints). A map file (YAML ``.yaml/.yml`` or TOML ``.toml``) may hold, all optional::

    pairs:                      # explicit: port name -> reference name
      output_norm: model.norm
    rename:                     # patterns, port -> reference; {x} matches within one
                                # dotted component (a layer index, a projection letter)
      "blk.{i}.attn_{p}": "model.layers.{i}.self_attn.{p}_proj"
    regex:                      # port regex -> reference replacement (re.sub syntax)
      - ['^blk\\.(\\d+)\\.ffn_up$', 'model.layers.\\1.mlp.up_proj']
    strip_prefix: "decoder."    # removed from port names (a string or a list)
    add_prefix: ""              # added to port names after stripping
    tolerances:                 # per-name overrides; keys are globs on reference names
      "model.layers.*.mlp": {rtol: 1.0e-3, atol: 1.0e-5}

Rules act on the module path only: a step prefix ``@k/`` and the suffixes ``:out1``,
``:in0`` and ``#1`` are kept as they are. Order: ``pairs``, then prefixes, then the first
``rename`` that matches, else the first ``regex`` that changes the name. Explicit rules win
over exact names. An older plain-text form (``PORT_REGEX -> REF_REPLACEMENT`` lines, full
match) is read as ``regex`` rules. See docs/map-files.md.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError

_PARTS = re.compile(r"^(@\d+/)?(.*?)((?:#\d+)?(?::(?:in|out)\d+)?)$")
KNOWN_KEYS = ("pairs", "rename", "regex", "strip_prefix", "add_prefix", "tolerances")


def split_name(name: str) -> tuple[str, str, str]:
    """Split ``@3/model.mlp#1:out1`` into (``@3/``, ``model.mlp``, ``#1:out1``)."""
    m = _PARTS.match(name)
    assert m is not None
    return m.group(1) or "", m.group(2), m.group(3)


def module_path(name: str) -> str:
    """The module path of a trace name (no step prefix, no suffixes)."""
    return split_name(name)[1]


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = []
    for piece in re.split(r"(\{\w+\})", pattern):
        if piece.startswith("{") and piece.endswith("}"):
            out.append(rf"(?P<{piece[1:-1]}>[^./:#]+?)")
        else:
            out.append(re.escape(piece))
    return re.compile("".join(out))


@dataclass
class Tolerance:
    rtol: float | None = None
    atol: float | None = None


@dataclass
class MapRules:
    """Port -> reference name translation plus per-name tolerances (see module docstring)."""

    pairs: dict[str, str] = field(default_factory=dict)
    rename: dict[str, str] = field(default_factory=dict)
    regex: list[tuple[str, str]] = field(default_factory=list)
    strip_prefix: list[str] = field(default_factory=list)
    add_prefix: str = ""
    tolerances: dict[str, Tolerance] = field(default_factory=dict)
    source: str | None = None

    def __post_init__(self) -> None:
        seen: dict[str, str] = {}
        for port, ref in self.pairs.items():
            if ref in seen:
                raise InputError(self.source, f"pairs: '{seen[ref]}' and '{port}' both claim "
                                              f"reference tensor '{ref}'")
            seen[ref] = port
        try:
            self._rename = [(_pattern_regex(p), r, p) for p, r in self.rename.items()]
            self._regex = [(re.compile(p), r, p) for p, r in self.regex]
        except re.error as exc:
            raise InputError(self.source, f"bad regex in map rules: {exc}") from None

    def translate(self, port_name: str) -> tuple[str, list[str]] | None:
        """The reference-side name ``port_name`` stands for and the rules used (as written
        in the file, e.g. ``"rename 'blk.{i}.attn_{p}'"``); None when no rule applies."""
        if port_name in self.pairs:
            return self.pairs[port_name], [f"pairs '{port_name}'"]
        step, path, suffix = split_name(port_name)
        if path in self.pairs:
            return step + self.pairs[path] + suffix, [f"pairs '{path}'"]
        used = []
        for prefix in self.strip_prefix:
            if prefix and path.startswith(prefix):
                path = path[len(prefix):]
                used.append(f"strip_prefix '{prefix}'")
                break
        if self.add_prefix:
            path = self.add_prefix + path
            used.append(f"add_prefix '{self.add_prefix}'")
        for rx, ref_pat, label in self._rename:
            m = rx.fullmatch(path)
            if m:
                path = ref_pat.format(**m.groupdict())
                used.append(f"rename '{label}'")
                break
        else:
            for rx, repl, label in self._regex:
                new = rx.sub(repl, path)
                if new != path:
                    path = new
                    used.append(f"regex '{label}'")
                    break
        return (step + path + suffix, used) if used else None

    def to_ref(self, port_name: str) -> str:
        """The reference-side name a port name stands for (itself when no rule applies)."""
        hit = self.translate(port_name)
        return port_name if hit is None else hit[0]

    def rule_labels(self) -> list[str]:
        """Every rule, labelled as :meth:`translate` reports it."""
        return ([f"pairs '{p}'" for p in self.pairs]
                + [f"strip_prefix '{p}'" for p in self.strip_prefix if p]
                + ([f"add_prefix '{self.add_prefix}'"] if self.add_prefix else [])
                + [f"rename '{p}'" for p in self.rename]
                + [f"regex '{p}'" for p, _ in self.regex])

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
    """Read a map file: YAML or TOML (see module docstring), or the plain-text
    ``PORT_REGEX -> REF_REPLACEMENT`` lines read as full-match ``regex`` rules."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(p, f"cannot read map file: {exc}") from None
    if p.suffix.lower() not in (".yaml", ".yml", ".toml") and _is_arrow_text(text):
        return rules_from_arrow_lines(text, p)
    import tomllib

    import yaml  # only a map file needs a YAML parser

    try:
        data = tomllib.loads(text) if p.suffix.lower() == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise InputError(p, f"map file does not parse: {first}") from None
    return rules_from_dict(data or {}, p)


def _is_arrow_text(text: str) -> bool:
    lines = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    return bool(lines) and all("->" in ln and ":" not in ln.split("->")[0] for ln in lines)


def rules_from_arrow_lines(text: str, source: str | Path | None = None) -> MapRules:
    """``PORT_REGEX -> REF_REPLACEMENT`` lines (full match, ``\\1`` groups) as ``regex``."""
    regex = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if "->" not in line:
            raise InputError(source, f"line {lineno}: expected 'PORT_REGEX -> REF_REPLACEMENT'")
        pattern, repl = (s.strip() for s in line.split("->", 1))
        try:
            re.compile(pattern)
        except re.error as exc:
            raise InputError(source, f"line {lineno}: bad regex ({exc})") from None
        regex.append((f"^(?:{pattern})$", repl))
    return MapRules(regex=regex, source=None if source is None else str(source))


def rules_from_dict(data: Any, source: str | Path | None = None) -> MapRules:
    """Map rules from a parsed map file (a dict with the keys of the module docstring)."""
    if not isinstance(data, dict):
        raise InputError(source, "map file must hold a mapping at top level")
    unknown = set(data) - set(KNOWN_KEYS)
    if unknown:
        raise InputError(source, f"unknown map key{'s' if len(unknown) > 1 else ''} "
                                 f"{', '.join(repr(k) for k in sorted(map(str, unknown)))} "
                                 f"(known: {', '.join(KNOWN_KEYS)})")
    try:
        strip = data.get("strip_prefix") or []
        tolerances = {}
        for k, v in (data.get("tolerances") or {}).items():
            extra = set(v) - {"rtol", "atol"}
            if extra:
                raise InputError(source, f"tolerances '{k}': unknown key {min(extra)!r} "
                                         "(known: rtol, atol)")
            tol = Tolerance(_number(v.get("rtol"), source, k), _number(v.get("atol"), source, k))
            tolerances[str(k)] = tol
        regex = []
        for item in data.get("regex") or []:
            if not isinstance(item, (list, tuple)) or len(item) != 2:
                raise InputError(source, f"regex: each rule is [PORT_REGEX, REF_REPLACEMENT] "
                                         f"(got {item!r})")
            regex.append((str(item[0]), str(item[1])))
        return MapRules(
            pairs={str(k): str(v) for k, v in (data.get("pairs") or {}).items()},
            rename={str(k): str(v) for k, v in (data.get("rename") or {}).items()},
            regex=regex,
            strip_prefix=[strip] if isinstance(strip, str) else [str(s) for s in strip],
            add_prefix=str(data.get("add_prefix") or ""),
            tolerances=tolerances,
            source=None if source is None else str(source),
        )
    except (AttributeError, TypeError, ValueError) as exc:
        raise InputError(source, f"malformed map rules: {exc}") from None


def _number(value: Any, source: str | Path | None, key: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise InputError(source, f"tolerances '{key}': rtol/atol must be numbers >= 0 "
                                 f"(got {value!r})")
    return float(value)
