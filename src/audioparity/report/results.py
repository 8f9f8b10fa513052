"""Reading the inputs of ``audioparity report``: result JSON files and audio files.

Each input is recognised by its shape — a compare result, a weights audit, an audio inspect
or an audio compare result (what those commands write with ``--json``) — or, for a
``.wav``/``.flac``/``.ogg`` file, as audio to play and draw. Anything else is
:class:`~audioparity.errors.InputError`: one line naming the file, exit 2 — a result of
another ``schema_version`` (or none: written before versions) included, since its keys and
status words may mean something else (``docs/json.md``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..contract import SCHEMA_VERSION
from ..errors import InputError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
KINDS = ("compare", "weights", "audio_inspect", "audio_compare", "audio_file")


@dataclass
class LoadedResult:
    """One input: its ``kind`` (one of :data:`KINDS`), path and parsed JSON (None for audio)."""

    kind: str
    path: Path
    data: dict[str, Any] | None


def kind_of(data: Any) -> str | None:
    """Which result a parsed JSON object is, or None."""
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("entries"), list) and "first_divergence" in data:
        return "compare"
    if isinstance(data.get("entries"), list) and "counts" in data and "coverage" in data:
        return "weights"
    if isinstance(data.get("files"), list) and "errors" in data:
        return "audio_inspect"
    if "lag_samples" in data and "ref_sr" in data:
        return "audio_compare"
    return None


def _check_schema(path: Path, data: dict) -> None:
    version = data.get("schema_version")
    if version is None:
        raise InputError(path, "results JSON without a schema_version (written by an older "
                               f"audioparity); this one reads version {SCHEMA_VERSION}: "
                               "run the command again")
    if type(version) is not int or version != SCHEMA_VERSION:
        raise InputError(path, f"results JSON of schema version {version!r}; this "
                               f"audioparity reads version {SCHEMA_VERSION}: run the command "
                               "again with this version")


def load_result(path: str | Path) -> LoadedResult:
    """Read one input of ``audioparity report``."""
    p = Path(path)
    if not p.is_file():
        raise InputError(p, "no such file" if not p.exists() else "not a file")
    if p.suffix.lower() in AUDIO_SUFFIXES:
        return LoadedResult("audio_file", p, None)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(p, f"not a readable results JSON: {exc}") from None
    if isinstance(data, dict) and "schema_version" in data:
        _check_schema(p, data)  # another version's keys may not be recognised at all
    kind = kind_of(data)
    if kind is None:
        raise InputError(p, "not an audioparity result (expected the --json of compare, "
                            "weights audit, audio inspect or audio compare)")
    _check_schema(p, data)
    return LoadedResult(kind, p, data)


def load_results(paths: list[str | Path]) -> list[LoadedResult]:
    """All inputs, in the order given; the first bad one raises."""
    if not paths:
        raise InputError(None, "give at least one results JSON or audio file")
    return [load_result(p) for p in paths]
