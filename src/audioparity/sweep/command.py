"""The user's generation command as a template: ``{name}`` placeholders filled per job.

Without ``--shell`` the command is an argv list run directly: each word is substituted on
its own, so a value with spaces or quotes arrives as one argument and nothing is ever
interpreted by a shell. With ``--shell`` the words are joined into one ``/bin/sh -c``
script (pipes, redirections, ``&&``) and every substituted value is ``shlex.quote``-d, so a
value still cannot break out of its word.

Only ``{identifier}`` is a placeholder; other braces (JSON arguments, ``${HOME}`` in a shell
script) pass through untouched, and ``{{name}}`` writes a literal ``{name}``.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from ..errors import UsageError

OUT = "out"
"""The placeholder for the job's output WAV path, filled by the sweep."""
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_PLACEHOLDER = re.compile(rf"\{{\{{({_NAME})\}}\}}|(?<!\$)\{{({_NAME})\}}")
"""``{{name}}`` (group 1, an escape) or ``{name}`` not preceded by ``$`` (group 2)."""


@dataclass(frozen=True)
class CommandTemplate:
    """The words after ``--`` and whether they form a shell script."""

    words: tuple[str, ...]
    shell: bool = False

    @property
    def placeholders(self) -> set[str]:
        """Names used as ``{name}`` (escaped ``{{name}}`` excluded)."""
        return {m.group(2) for w in self.words for m in _PLACEHOLDER.finditer(w)
                if m.group(2)}

    def text(self) -> str:
        """The template as one line, for reports."""
        return " ".join(self.words) if self.shell else shlex.join(self.words)


def _substitute(word: str, values: dict[str, str], quote: bool) -> str:
    def fill(match: re.Match) -> str:
        if match.group(1):
            return "{" + match.group(1) + "}"
        value = values[match.group(2)]
        return shlex.quote(value) if quote else value

    return _PLACEHOLDER.sub(fill, word)


def check_template(template: CommandTemplate, grid_names: list[str]) -> None:
    """Refuse a template that cannot make one WAV per setting.

    Raises
    ------
    UsageError : no command; a placeholder no ``--grid`` fills; no ``{out}`` (every job
        would write the same place); a grid parameter the command never uses (its
        settings would run the same command).
    """
    if not template.words:
        raise UsageError("no command to run: give it after --, e.g. "
                         "-- python gen.py --cfg {cfg} --out {out}")
    used = template.placeholders
    unknown = sorted(used - set(grid_names) - {OUT})
    if unknown:
        raise UsageError(f"the command uses {{{unknown[0]}}} but no --grid {unknown[0]}=... "
                         "gives its values")
    if OUT not in used:
        raise UsageError("the command has no {out} placeholder: the sweep needs to tell each "
                         "job where to write its WAV")
    unused = [n for n in grid_names if n not in used]
    if unused:
        raise UsageError(f"--grid {unused[0]} is never used in the command: add "
                         f"{{{unused[0]}}} where it belongs")


def render(template: CommandTemplate, params: dict[str, str], out: str) -> list[str]:
    """The argv of one job: placeholders replaced by ``params`` and ``out`` (a path)."""
    values = {**params, OUT: out}
    if template.shell:
        script = " ".join(_substitute(w, values, quote=True) for w in template.words)
        return ["/bin/sh", "-c", script]
    return [_substitute(w, values, quote=False) for w in template.words]
