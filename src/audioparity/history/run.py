"""One recorded compare: what was compared, and where (and why) it first went off."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .fingerprint import Fingerprint, fingerprint


@dataclass(frozen=True)
class Run:
    """The summary of one ``audioparity compare`` kept in a history database.

    status : the compare's status (``parity``, ``divergent`` or ``incomplete``).
    first_index : position of the first divergence among the aligned pairs (0-based,
        reference execution order); None without a divergence.
    pairs, failing : aligned pairs, and how many of them are out of tolerance.
    """

    recorded_utc: str
    label: str | None
    ref: Fingerprint
    port: Fingerprint
    status: str
    first_name: str | None
    first_index: int | None
    first_cause: str | None
    first_confidence: float | None
    first_detail: str | None
    pairs: int
    failing: int
    unmatched_ref: int
    unmatched_port: int
    id: int | None = None

    @property
    def reach(self) -> int:
        """How far along the aligned pairs the port stays within tolerance: the first
        divergence's position, or every pair when there is none."""
        return self.pairs if self.first_index is None else self.first_index

    def to_json(self) -> dict[str, Any]:
        first = None if self.first_name is None else {
            "name": self.first_name, "index": self.first_index, "cause": self.first_cause,
            "confidence": self.first_confidence, "detail": self.first_detail}
        return {"id": self.id, "recorded_utc": self.recorded_utc, "label": self.label,
                "ref": self.ref.to_json(), "port": self.port.to_json(), "status": self.status,
                "first_divergence": first, "pairs": self.pairs, "failing": self.failing,
                "unmatched_ref": self.unmatched_ref, "unmatched_port": self.unmatched_port}


def run_from_compare(doc: dict[str, Any], label: str | None = None,
                     now: datetime | None = None) -> Run:
    """The history's summary of a compare result (the dict ``compare --json`` writes).

    The ``ref``/``port`` paths it names are fingerprinted now, so call this right after
    the compare.
    """
    first = doc.get("first_divergence") or {}
    causes = first.get("causes") or [{}]
    summary = doc.get("summary") or {}
    when = (now or datetime.now(UTC)).astimezone(UTC)
    return Run(
        recorded_utc=when.isoformat(timespec="seconds"), label=label,
        ref=fingerprint(doc["ref"]), port=fingerprint(doc["port"]), status=doc["status"],
        first_name=first.get("name"), first_index=first.get("index"),
        first_cause=causes[0].get("cause"), first_confidence=causes[0].get("confidence"),
        first_detail=causes[0].get("detail"),
        pairs=int(summary.get("pairs", len(doc.get("entries") or []))),
        failing=int(summary.get("failing", 0)),
        unmatched_ref=int(summary.get("unmatched_ref", 0)),
        unmatched_port=int(summary.get("unmatched_port", 0)))
