"""The JSON contract every command keeps (``docs/json.md``): a schema version, one ``status``.

Every JSON document audioparity writes carries ``schema_version`` (an integer, raised only
when a key is renamed or removed or a status word changes meaning; new keys do not raise
it) and a top-level ``status`` from one vocabulary:

* two things compared: ``parity`` / ``divergent`` / ``incomplete``;
* one thing checked: ``ok`` / ``problem``;
* could not check: ``error``.

The status decides the exit code (:func:`exit_code`): 0 for ``parity``/``ok``, 1 for
``divergent``/``incomplete``/``problem``, 2 for ``error``.

>>> exit_code("incomplete"), exit_code("ok"), error_document("x.wav: not audio")["status"]
(1, 0, 'error')
"""

from __future__ import annotations

from typing import Any

SCHEMA_VERSION = 1
COMPARED = ("parity", "divergent", "incomplete")
CHECKED = ("ok", "problem")
ERROR = "error"
STATUSES = COMPARED + CHECKED + (ERROR,)
_EXIT_CODES = {"parity": 0, "ok": 0, "divergent": 1, "incomplete": 1, "problem": 1,
               ERROR: 2}


def exit_code(status: str) -> int:
    """The exit code of a command whose JSON says ``status`` (ValueError off the vocabulary)."""
    try:
        return _EXIT_CODES[status]
    except KeyError:
        raise ValueError(f"status {status!r} is not one of {', '.join(STATUSES)}") from None


def checked(ok: bool) -> str:
    """``ok`` or ``problem``: the status of one thing checked."""
    return "ok" if ok else "problem"


def versioned(document: Any) -> Any:
    """``document`` with ``schema_version`` as its first key and ``status`` (where it has
    one) as its second; non-dicts are returned as is."""
    if not isinstance(document, dict):
        return document
    head = {"schema_version": SCHEMA_VERSION}
    if "status" in document:
        head["status"] = document["status"]
    return head | {k: v for k, v in document.items() if k not in head}


def error_document(message: str) -> dict[str, Any]:
    """What ``--json -`` prints when a command could not check (exit 2)."""
    return {"schema_version": SCHEMA_VERSION, "status": ERROR, "error": message}
