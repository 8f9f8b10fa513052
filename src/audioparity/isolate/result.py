"""Result objects of isolation and patching, their verdicts and JSON.

Per component, in the reference's execution order: the end-to-end check (the port's own
run) and the isolated one (the component alone on the reference's recorded inputs).

- wrong in isolation -> ``bug`` (the first such row is where to start);
- right in isolation, wrong end to end -> ``victim`` of the nearest bug upstream;
- right both ways -> ``ok``; a component that raised -> ``error``; one the port lacks or
  that was not checked -> ``unchecked``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .check import Check

VERDICTS = ("bug", "victim", "ok", "error", "unchecked")


@dataclass
class ComponentRow:
    """One component: its checks and verdict (``note`` says whose victim, or the error)."""

    name: str
    isolated: Check
    end_to_end: Check | None = None
    module_type: str | None = None
    verdict: str = "unchecked"
    note: str = ""
    causes: list[Any] = field(default_factory=list)  # explain.Finding, best first
    #: a bug narrowed down: its submodules wrong in isolation, outermost first (the last is
    #: the innermost, where ``causes`` were fitted), with the innermost's check
    chain: list[str] = field(default_factory=list)
    inner_check: Check | None = None
    skipped: list[str] = field(default_factory=list)  # submodules that raised when run alone

    @property
    def innermost(self) -> str:
        """The innermost module wrong in isolation (the component itself unless narrowed)."""
        return self.chain[-1] if self.chain else self.name

    def to_json(self) -> dict[str, Any]:
        return {"component": self.name, "module_type": self.module_type,
                "verdict": self.verdict, "note": self.note,
                "isolated": self.isolated.to_json(),
                "end_to_end": None if self.end_to_end is None else self.end_to_end.to_json(),
                "innermost": self.innermost, "chain": self.chain,
                "innermost_check": None if self.inner_check is None
                else self.inner_check.to_json(),
                "not_runnable_alone": self.skipped,
                "causes": [c.to_json() for c in self.causes]}


def assign_verdicts(rows: list[ComponentRow]) -> None:
    """Fill ``verdict`` and ``note`` of rows given in execution order."""
    last_bug: str | None = None
    for row in rows:
        iso, e2e = row.isolated, row.end_to_end
        if iso.wrong:
            row.verdict = "bug"
            row.note = "wrong on the reference's own inputs"
            last_bug = row.name
        elif iso.status == "error":
            row.verdict, row.note = "error", iso.error or ""
        elif iso.status == "not run":
            row.verdict, row.note = "unchecked", iso.error or ""
        elif e2e is not None and e2e.wrong:
            row.verdict = "victim"
            row.note = (f"right on the reference's inputs: a victim of {last_bug}"
                        if last_bug else "right on the reference's inputs: its inputs were "
                        "already wrong (code between components, or the port's inputs)")
        else:
            row.verdict = "ok"
            row.note = f"end to end {e2e.error}" if e2e is not None and e2e.error else ""


@dataclass
class IsolationResult:
    """The per-component table of one port against one reference."""

    ref_path: str
    port_kind: str
    rows: list[ComponentRow]
    end_to_end_source: str | None = None  # "port trace P" / "the port run end to end"
    port_description: str = ""  # "DacModel", "4 components", the files read
    notes: list[str] = field(default_factory=list)
    patch: PatchResult | None = None

    @property
    def bugs(self) -> list[ComponentRow]:
        return [r for r in self.rows if r.verdict == "bug"]

    @property
    def victims(self) -> list[ComponentRow]:
        return [r for r in self.rows if r.verdict == "victim"]

    @property
    def first_end_to_end(self) -> ComponentRow | None:
        """The first component wrong end to end (what a plain comparison points at)."""
        return next((r for r in self.rows if r.end_to_end is not None and
                     r.end_to_end.wrong), None)

    @property
    def checked(self) -> list[ComponentRow]:
        """Rows checked alone, and end to end when there is an end-to-end column."""
        return [r for r in self.rows if r.verdict not in ("error", "unchecked") and
                (r.end_to_end is None or r.end_to_end.status != "error")]

    @property
    def status(self) -> str:
        """``divergent`` (a bug or a victim), else ``incomplete`` (a component raised or was
        not checked), else ``parity``."""
        if self.bugs or self.victims or (self.patch is not None and not self.patch.recovered):
            return "divergent"
        if len(self.checked) < len(self.rows):
            return "incomplete"
        return "parity"

    @property
    def headline(self) -> str:
        n = len(self.rows)
        first = self.first_end_to_end
        e2e = "" if first is None else f"; end to end the first divergence is {first.name}"
        if self.bugs:
            names = ", ".join(r.name for r in self.bugs)
            many = f"{len(self.bugs)} components" if len(self.bugs) > 1 else "1 component"
            return f"divergent: {many} wrong on the reference's own inputs: {names}{e2e}"
        if self.victims:
            return (f"divergent: every checked component is right on the reference's inputs, "
                    f"yet {self.victims[0].name} diverges end to end: the fault is outside "
                    f"the checked components")
        if self.status == "incomplete":
            bad = [r.name for r in self.rows if r not in self.checked]
            return (f"incomplete: {len(bad)} of {n} components could not be checked "
                    f"({', '.join(bad)}); the others are within tolerance")
        if self.patch is not None and not self.patch.recovered:
            return f"divergent: {self.patch.line}"
        both = " in isolation and end to end" if self.end_to_end_source else " in isolation"
        counted = f"all {n} components" if n > 1 else "1 component"
        return f"parity: {counted} within tolerance{both}"

    def to_json(self) -> dict[str, Any]:
        first = self.first_end_to_end
        return {"status": self.status, "headline": self.headline, "ref": self.ref_path,
                "port": self.port_kind, "port_description": self.port_description,
                "end_to_end_source": self.end_to_end_source,
                "bugs": [r.name for r in self.bugs],
                "victims": [r.name for r in self.victims],
                "first_end_to_end": None if first is None else first.name,
                "components": [r.to_json() for r in self.rows], "notes": self.notes,
                "patch": None if self.patch is None else self.patch.to_json()}


@dataclass
class PatchedRow:
    """A component downstream of the patch: end to end before and after it."""

    name: str
    before: Check
    after: Check

    def to_json(self) -> dict[str, Any]:
        return {"component": self.name, "before": self.before.to_json(),
                "after": self.after.to_json()}


@dataclass
class PatchResult:
    """The port run with ``component``'s output replaced by the reference's."""

    component: str
    rows: list[PatchedRow]

    @property
    def still_divergent(self) -> list[str]:
        return [r.name for r in self.rows if not r.after.ok]

    @property
    def recovered(self) -> bool:
        return not self.still_divergent

    @property
    def line(self) -> str:
        names = ", ".join(r.name for r in self.rows) or "nothing recorded"
        crashed = next((r for r in self.rows if r.after.status == "error"), None)
        if crashed is not None:
            return (f"patching {self.component}: the port's run did not reach "
                    f"{crashed.name} ({crashed.after.error})")
        if self.recovered:
            return (f"patching {self.component} with the reference's output puts everything "
                    f"downstream at parity ({names}): {self.component} is the only culprit")
        bad = self.still_divergent
        return (f"patching {self.component} with the reference's output leaves "
                f"{', '.join(bad)} divergent: another bug downstream, first at {bad[0]}")

    def to_json(self) -> dict[str, Any]:
        return {"component": self.component, "recovered": self.recovered,
                "still_divergent": self.still_divergent, "line": self.line,
                "downstream": [r.to_json() for r in self.rows]}
