"""SPEC naming of recorded tensors, shared by every capture source.

A module's output is stored under its dotted path; element k >= 1 of a tuple output under
``NAME:outk``; positional input k under ``NAME:ink``; the second and later calls of the same
module within one step under ``NAME#1``, ``NAME#2``; step k of a loop under ``@k/NAME``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence

ROOT_NAME = "output"


def step_prefix(step: int | None) -> str:
    return "" if step is None else f"@{step}/"


def output_name(base: str, index: int) -> str:
    return base if index == 0 else f"{base}:out{index}"


def input_name(base: str, index: int) -> str:
    return f"{base}:in{index}"


def repeat_name(base: str, repeat: int) -> str:
    return base if repeat == 0 else f"{base}#{repeat}"


class NameFilter:
    """Include/exclude patterns: shell globs, or regular expressions written ``re:<regex>``.

    A name is kept when it matches some include pattern (or there are none) and no exclude
    pattern. Patterns are matched against the module path (without step prefix or suffixes).
    """

    def __init__(self, include: Sequence[str] | str | None = None,
                 exclude: Sequence[str] | str | None = None):
        self._include = [_compile(p) for p in _as_list(include)]
        self._exclude = [_compile(p) for p in _as_list(exclude)]

    def __call__(self, name: str) -> bool:
        if self._include and not any(p.fullmatch(name) for p in self._include):
            return False
        return not any(p.fullmatch(name) for p in self._exclude)


def _as_list(patterns: Sequence[str] | str | None) -> list[str]:
    if patterns is None:
        return []
    return [patterns] if isinstance(patterns, str) else list(patterns)


def _compile(pattern: str) -> re.Pattern[str]:
    if pattern.startswith("re:"):
        return re.compile(pattern[3:])
    return re.compile(fnmatch.translate(pattern))
