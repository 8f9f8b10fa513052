"""The parameter grid: ``--grid name=v1,v2,...`` / ``--grid name=start:stop[:step]`` axes and
their cartesian product.

Values stay the strings the command will receive (``"7"``, ``"0.5"``, ``"euler"``); a range
is expanded with exact decimal arithmetic so ``cfg=1:2:0.1`` gives ``1.1``, not
``1.1000000000000001``. Ranges include their stop value when the step lands on it
(``steps=10:50:10`` is 10, 20, 30, 40, 50), the way a sweep is usually meant.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ..errors import UsageError

NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RESERVED_NAMES = ("out",)
"""Placeholders the sweep fills itself; a grid axis may not take these names."""
MAX_JOBS = 10_000
"""A larger product is almost certainly a typo (a range step of 0.001)."""


@dataclass(frozen=True)
class Axis:
    """One swept parameter: its placeholder name and the values, in the order given."""

    name: str
    values: tuple[str, ...]


def _expand_range(name: str, spec: str) -> tuple[str, ...]:
    parts = spec.split(":")
    if len(parts) not in (2, 3):
        raise UsageError(f"--grid {name}={spec}: a range is start:stop or start:stop:step")
    try:
        start, stop = Decimal(parts[0]), Decimal(parts[1])
        step = Decimal(parts[2]) if len(parts) == 3 else Decimal(1)
    except InvalidOperation:
        raise UsageError(f"--grid {name}={spec}: range bounds and step must be numbers"
                         ) from None
    if not all(d.is_finite() for d in (start, stop, step)):
        raise UsageError(f"--grid {name}={spec}: range bounds and step must be finite")
    if step <= 0:
        raise UsageError(f"--grid {name}={spec}: the step must be positive")
    if stop < start:
        raise UsageError(f"--grid {name}={spec}: stop is below start")
    count = int((stop - start) / step) + 1
    if count > MAX_JOBS:
        raise UsageError(f"--grid {name}={spec}: {count} values (at most {MAX_JOBS})")
    return tuple(str(start + i * step) for i in range(count))


def parse_axis(spec: str) -> Axis:
    """Parse one ``--grid`` value: ``name=v1,v2,...`` or ``name=start:stop[:step]``.

    Raises
    ------
    UsageError : no ``=``, a bad name, an empty or repeated value, a malformed range.
    """
    name, sep, body = spec.partition("=")
    name = name.strip()
    if not sep:
        raise UsageError(f"--grid {spec!r}: expected name=v1,v2,... or name=start:stop:step")
    if not NAME_PATTERN.fullmatch(name):
        raise UsageError(f"--grid {spec!r}: {name!r} is not a placeholder name "
                         "(letters, digits, _; not starting with a digit)")
    if name in RESERVED_NAMES:
        raise UsageError(f"--grid {spec!r}: {{{name}}} is filled by the sweep itself")
    if "," not in body and body.count(":") in (1, 2):
        values = _expand_range(name, body)
    else:
        values = tuple(v.strip() for v in body.split(","))
    if not values or any(v == "" for v in values):
        raise UsageError(f"--grid {spec!r}: empty value")
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise UsageError(f"--grid {spec!r}: value {repeated[0]!r} given twice")
    return Axis(name, values)


def parse_grid(specs: list[str]) -> list[Axis]:
    """Parse every ``--grid`` option; names must be distinct and the product not huge."""
    if not specs:
        raise UsageError("no --grid given: sweep at least one parameter, "
                         "e.g. --grid cfg=1,3,7")
    axes = [parse_axis(s) for s in specs]
    names = [a.name for a in axes]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(f"--grid {twice[0]} given twice: put all its values in one option")
    total = 1
    for axis in axes:
        total *= len(axis.values)
    if total > MAX_JOBS:
        raise UsageError(f"the grid has {total} settings (at most {MAX_JOBS})")
    return axes


def settings(axes: list[Axis]) -> list[dict[str, str]]:
    """Every combination of the axes' values, the last axis varying fastest."""
    return [dict(zip([a.name for a in axes], combo, strict=True))
            for combo in itertools.product(*(a.values for a in axes))]


def typed(value: str) -> int | float | str:
    """``value`` as an int or float when it reads as one (for JSON), else the string."""
    try:
        return int(value)
    except ValueError:
        pass
    try:
        number = float(value)
    except ValueError:
        return value
    return number if math.isfinite(number) else value
