"""Number recorded inputs by parameter position, so keyword and positional calls agree.

A reference layer called ``layer(h, attention_mask=m, position_ids=p)`` and a port calling
``layer(h, m, p)`` must record the same ``NAME:in0``, ``NAME:in1``, ``NAME:in2``. The index of
an input is therefore the index of its parameter in the callable's signature (``self``
excluded), not its position in the call.

>>> def forward(hidden_states, attention_mask=None, position_ids=None, **kwargs): ...
>>> slots = InputSlots.of(forward)
>>> slots.indices(1, ["position_ids", "attention_mask", "scale"])
[0, 2, 1, 3]
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


@dataclass(frozen=True)
class InputSlots:
    """The named parameters of a callable, in signature order.

    ``var_positional`` is the index of ``*args`` in ``params`` (None without one);
    ``positional_only`` holds the names that cannot be passed by keyword.
    """

    params: tuple[str, ...]
    var_positional: int | None = None
    positional_only: frozenset[str] = frozenset()

    @classmethod
    def of(cls, fn: Callable[..., Any]) -> InputSlots | None:
        """The slots of ``fn`` (a bound method drops ``self``); None when it has no signature."""
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            return _from_nanobind(fn)
        params: list[str] = []
        var_positional = None
        positional_only = set()
        for p in sig.parameters.values():
            if p.kind is inspect.Parameter.VAR_KEYWORD:
                continue
            if p.kind is inspect.Parameter.VAR_POSITIONAL:
                var_positional = len(params)
            elif p.kind is inspect.Parameter.POSITIONAL_ONLY:
                positional_only.add(p.name)
            params.append(p.name)
        return cls(tuple(params), var_positional, frozenset(positional_only))

    def indices(self, n_args: int, kwarg_names: Sequence[str]) -> list[int]:
        """Input index of each positional argument, then of each keyword argument.

        Positional argument i is input i. A keyword argument gets its parameter's index;
        parameters after ``*args`` move past the extra positional arguments it took. Keywords
        the signature does not name (``**kwargs``) follow the last named parameter, in call
        order.
        """
        star = self.var_positional
        extra = 0 if star is None else max(n_args - star, 0)
        named: dict[str, int] = {}
        for j, name in enumerate(self.params):
            if j == star or name in self.positional_only:
                continue
            named[name] = j if star is None or j < star else star + extra + (j - star - 1)
        n_slots = len(self.params) - (star is not None) + extra
        next_free = max(n_slots, n_args)
        out = list(range(n_args))
        for name in kwarg_names:
            if name in named:
                out.append(named[name])
            else:
                out.append(next_free)
                next_free += 1
        return out


def call_order_indices(n_args: int, n_kwargs: int) -> list[int]:
    """Without a signature: positional arguments first, then keywords in call order."""
    return list(range(n_args + n_kwargs))


class SlotCache:
    """:class:`InputSlots` per key (a class, a function), computed once."""

    def __init__(self) -> None:
        self._slots: dict[Any, InputSlots | None] = {}

    def get(self, key: Any, fn: Callable[..., Any]) -> InputSlots | None:
        if key not in self._slots:
            self._slots[key] = InputSlots.of(fn)
        return self._slots[key]


_NB_PARAMS = re.compile(r"^def \w+\((?P<params>.*)\)")


def _from_nanobind(fn: Callable[..., Any]) -> InputSlots | None:
    """Slots from a nanobind function's text signature (``mlx.core`` functions have one)."""
    signatures = getattr(fn, "__nb_signature__", None)
    if not signatures or len(signatures) != 1:  # overloaded: no one numbering fits all
        return None
    match = _NB_PARAMS.match(signatures[0][0].split(" -> ")[0])
    if match is None:
        return None
    params: list[str] = []
    var_positional = None
    positional_only: set[str] = set()
    for part in _split_top_level(match["params"]):
        name = re.split(r"[:=]", part, maxsplit=1)[0].strip()
        if name == "/":
            positional_only.update(params)
        elif name.startswith("**") or name in ("*", ""):
            continue
        elif name.startswith("*"):
            var_positional = len(params)
            params.append(name[1:])
        else:
            params.append(name)
    return InputSlots(tuple(params), var_positional, frozenset(positional_only))


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside brackets (``tuple[int, int]`` stays one part)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts
