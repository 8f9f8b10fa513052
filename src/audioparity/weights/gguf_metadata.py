"""A GGUF's metadata that changes numerics, checked against the reference's ``config.json``.

llama.cpp takes RoPE base, RMSNorm epsilon, head counts, head size, context length, sliding
window and RoPE scaling from the GGUF's key/value metadata, not from the tensors: a wrong
value there runs the right weights with the wrong arithmetic (``rope.freq_base`` 10000
instead of 1e6 turns every rotary angle; an RMS epsilon of 1e-5 instead of 1e-6 shifts every
norm). :func:`compare_metadata` reads each such key the way llama.cpp's converter writes it
from a Hugging Face config (``convert_hf_to_gguf.py``, ``TextModel.set_gguf_parameters``) and
names each mismatch with the value to set.

Keys are written with ``{arch}`` standing for ``general.architecture`` (``llama.rope.freq_base``).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError

#: Relative difference accepted between a float stored as float32 and the config's value.
FLOAT_REL = 1e-6
#: Arrays longer than this (tokenizer vocabularies) are not read into the metadata dict.
MAX_ARRAY = 4096
#: llama.cpp's value when ``rope.freq_base`` is absent from the file.
LLAMA_CPP_DEFAULT_FREQ_BASE = 10000.0


@dataclass
class MetadataCheck:
    """One numerics-changing GGUF key against the reference config.

    Attributes
    ----------
    key : str
        The GGUF key (``llama.rope.freq_base``).
    config_key : str
        Where the expected value comes from in ``config.json``.
    gguf : Any
        The value in the GGUF (None: the key is absent).
    expected : Any
        What the converter would write from the config.
    value_type : str
        GGUF value type to write (``FLOAT32``, ``UINT32``, ``STRING``).
    ok : bool
        True when the two agree.
    note : str
        What a mismatch does at run time.
    """

    key: str
    config_key: str
    gguf: Any
    expected: Any
    value_type: str
    ok: bool
    note: str = ""

    def fix(self, gguf_path: str | Path) -> str:
        """How to correct the file: the value to set, and the command."""
        value = _format(self.expected)
        scalar = self.gguf is not None and not isinstance(self.gguf, list)
        how = (f"'gguf-set-metadata {gguf_path} {self.key} {value}'" if scalar
               and self.value_type != "STRING" else "re-convert with convert_hf_to_gguf.py")
        return (f"set {self.key} = {value}: 'audioparity weights fix REF PORT --out NEW.gguf' "
                f"writes a corrected copy, or {how}")

    def to_json(self, gguf_path: str | Path) -> dict:
        d = asdict(self)
        if not self.ok:
            d["fix"] = self.fix(gguf_path)
        return d


def read_gguf_metadata(path: str | Path) -> dict[str, Any]:
    """Key/value metadata of a GGUF file (scalars and arrays up to :data:`MAX_ARRAY` items).

    Raises
    ------
    InputError
        The file is missing, truncated or not a GGUF file.
    """
    from ..trace.gguf_layout import LongArray, read_gguf_layout

    path = Path(path)
    try:
        metadata = read_gguf_layout(path, MAX_ARRAY).metadata  # long arrays left unread
    except ValueError as exc:
        raise InputError(path, f"not a readable GGUF file ({exc})") from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    out: dict[str, Any] = {}
    for name, value in metadata.items():
        if isinstance(value, LongArray):
            continue
        if isinstance(value, bytes) or (isinstance(value, list) and any(
                isinstance(v, bytes) for v in value)):
            raise InputError(path, f"not a readable GGUF file (metadata '{name}' is not UTF-8)")
        out[name] = value
    return out


def find_config(ref_path: str | Path) -> Path | None:
    """The ``config.json`` beside a reference checkpoint (or inside its directory)."""
    p = Path(ref_path)
    candidate = p / "config.json" if p.is_dir() else p.parent / "config.json"
    return candidate if candidate.is_file() else None


def load_config(path: str | Path) -> dict:
    """A Hugging Face ``config.json`` as a dict.

    Raises
    ------
    InputError
        Missing, unreadable, not JSON, or not a JSON object.
    """
    path = Path(path)
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not a JSON config ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(config, dict):
        raise InputError(path, "not a model config (expected a JSON object)")
    return config


def head_dim_of(config: dict | None, metadata: dict | None = None) -> int | None:
    """Rows per attention head: the config's ``head_dim`` (or hidden / heads), else the
    GGUF's ``{arch}.attention.key_length`` (or embedding length / head count)."""
    for source, keys in ((config or {}, ("head_dim", "hidden_size", "num_attention_heads")),
                         (_arch_view(metadata or {}), ("attention.key_length",
                                                       "embedding_length",
                                                       "attention.head_count"))):
        direct, width, heads = (source.get(k) for k in keys)
        if isinstance(direct, int) and direct > 0:
            return direct
        if isinstance(width, int) and isinstance(heads, int) and heads > 0:
            return width // heads
    return None


def _arch_view(metadata: dict) -> dict:
    arch = metadata.get("general.architecture")
    prefix = f"{arch}."
    return {k[len(prefix):]: v for k, v in metadata.items() if arch and k.startswith(prefix)}


def _rope_params(config: dict) -> dict:
    """RoPE parameters as transformers 5 (``rope_parameters``, per layer type) or 4
    (``rope_theta``, ``rope_scaling``) writes them."""
    params = config.get("rope_parameters")
    if isinstance(params, dict):
        return dict(params.get("full_attention", params))
    out = dict(config.get("rope_scaling") or {})
    if "type" in out and "rope_type" not in out:
        out["rope_type"] = out["type"]
    if "rope_theta" in config:
        out["rope_theta"] = config["rope_theta"]
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list) or isinstance(b, list):
        a_list = a if isinstance(a, list) else [a]
        b_list = b if isinstance(b, list) else [b]
        if len(a_list) == 1:
            a_list = a_list * len(b_list)
        if len(b_list) == 1:
            b_list = b_list * len(a_list)
        return len(a_list) == len(b_list) and all(_same(x, y) for x, y in zip(a_list, b_list))
    if isinstance(a, float) or isinstance(b, float):
        try:
            a, b = float(a), float(b)
        except (TypeError, ValueError):
            return False
        return math.isclose(a, b, rel_tol=FLOAT_REL, abs_tol=0.0)
    return a == b


def _format(value: Any) -> str:
    return format(value, ".9g") if isinstance(value, float) else str(value)


def _checks(config: dict) -> list[tuple[str, str, Any, str, str]]:
    """(GGUF key suffix, config key, expected value, value type, what a mismatch does) for
    every numerics-changing key the config determines."""
    rope = _rope_params(config)
    out: list[tuple[str, str, Any, str, str]] = []
    if rope.get("rope_theta") is not None:
        out.append(("rope.freq_base", "rope_theta", float(rope["rope_theta"]), "FLOAT32",
                    "RoPE base: every rotary angle changes"))
    eps = next((config[k] for k in ("rms_norm_eps", "norm_eps") if config.get(k) is not None),
               None)
    if eps is not None:
        out.append(("attention.layer_norm_rms_epsilon", "rms_norm_eps", float(eps), "FLOAT32",
                    "RMSNorm epsilon: every norm output shifts"))
    for key, cfg, note in (("attention.head_count", "num_attention_heads",
                            "queries split into another number of heads"),
                           ("attention.head_count_kv", "num_key_value_heads",
                            "keys/values shared across another number of query heads (GQA)"),
                           ("attention.key_length", "head_dim",
                            "another head size (and attention scale 1/sqrt(head_dim))"),
                           ("context_length", "max_position_embeddings",
                            "another trained context (RoPE scaling and context checks use it)")):
        if isinstance(config.get(cfg), int):
            out.append((key, cfg, config[cfg], "UINT32", note))
    if config.get("sliding_window") is not None and config.get("use_sliding_window") is not False:
        out.append(("attention.sliding_window", "sliding_window", int(config["sliding_window"]),
                    "UINT32", "attention sees another window of past tokens"))
    rope_type = rope.get("rope_type")
    if rope_type in ("linear", "yarn") and rope.get("factor") is not None:
        out.append(("rope.scaling.type", "rope_parameters.rope_type", rope_type, "STRING",
                    "positions are not scaled as the reference scales them"))
        out.append(("rope.scaling.factor", "rope_parameters.factor", float(rope["factor"]),
                    "FLOAT32", "positions scaled by another factor"))
        if rope_type == "yarn" and rope.get("original_max_position_embeddings"):
            out.append(("rope.scaling.original_context_length",
                        "rope_parameters.original_max_position_embeddings",
                        int(rope["original_max_position_embeddings"]), "UINT32",
                        "YaRN ramps computed for another original context"))
    return out


#: llama.cpp's value for a key absent from the file, where absence is harmless when equal.
_DEFAULTS = {"rope.freq_base": LLAMA_CPP_DEFAULT_FREQ_BASE}


def compare_metadata(metadata: dict, config: dict) -> list[MetadataCheck]:
    """Every numerics-changing key of a GGUF's metadata against the reference config.

    A key absent from the GGUF is compared through llama.cpp's default where it has one
    (``rope.freq_base`` 10000), and ``attention.head_count_kv`` through ``head_count``
    (llama.cpp's fallback); otherwise an absent key is a mismatch.
    """
    arch = metadata.get("general.architecture")
    view = _arch_view(metadata)
    checks = []
    for suffix, cfg_key, expected, vtype, note in _checks(config):
        if suffix == "attention.key_length" and suffix not in view and (
                view.get("embedding_length") and view.get("attention.head_count")):
            # absent: llama.cpp derives it as embedding_length / head_count
            present = view["embedding_length"] // _first(view["attention.head_count"])
        elif suffix == "attention.head_count_kv" and suffix not in view:
            present = view.get("attention.head_count")
        else:
            present = view.get(suffix, _DEFAULTS.get(suffix))
        ok = present is not None and _same(present, expected)
        checks.append(MetadataCheck(f"{arch}.{suffix}", cfg_key, view.get(suffix), expected,
                                    vtype, ok, note if not ok else ""))
    return checks


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value
