"""What every token check reports when something is wrong: one :class:`Problem`."""

from __future__ import annotations

from dataclasses import dataclass, field

#: The checks a problem can come from, in the order the report lists them.
CHECKS = ("range", "offset", "codebook_count", "degenerate", "eos", "ref", "logits")


@dataclass
class Problem:
    """One thing wrong with the tokens.

    Attributes
    ----------
    check : str
        Which check found it (one of :data:`CHECKS`).
    detail : str
        One human line with the numbers.
    hint : str
        What to change in the port.
    cause : str or None
        A SPEC ``cause`` name where one fits (``offset``, ``permutation``, ...).
    params : dict
        Machine-readable numbers (JSON-safe).
    """

    check: str
    detail: str
    hint: str = ""
    cause: str | None = None
    params: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.check not in CHECKS:
            raise ValueError(f"check {self.check!r} is not one of {CHECKS}")

    def to_json(self) -> dict:
        """``{"check", "cause", "detail", "hint", "params"}``."""
        return {"check": self.check, "cause": self.cause, "detail": self.detail,
                "hint": self.hint, "params": self.params}
