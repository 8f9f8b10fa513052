"""Alignment matchers: each pairs what the ones before it left, in this order.

1. :mod:`.map_rules` — explicit ``pairs``/``rename``/``regex``/prefix rules of a map file
   (they win over exact names);
2. :mod:`.exact` — the same name on both sides (unless the recorded module classes differ);
3. :mod:`.structure` — MLX ``Sequential`` ``.layers.N`` and children renumbered inside one
   parent (a port calling ELU as a function has one child less);
4. :mod:`.suffix` — a wrapper prefix on one side (``model.`` …), when unambiguous;
5. :mod:`.order` — execution order and shape (under the port conventions), every guess
   checked by value fingerprints;
6. :mod:`.verify` — pairs that are not the same tensor (values or shapes differ and the
   error does not propagate, or a duplicate of a neighbour's values) are unpaired.

A matcher is a function ``match(state)`` registered with :func:`matcher`; adding one touches
nothing else.
"""

from __future__ import annotations

from collections.abc import Callable

from ..state import AlignState

Matcher = Callable[[AlignState], None]
_MATCHERS: list[tuple[int, str, Matcher]] = []


def matcher(rank: int, name: str):
    """Register ``match(state)`` to run at ``rank`` (lower first)."""
    def deco(fn: Matcher) -> Matcher:
        _MATCHERS.append((rank, name, fn))
        _MATCHERS.sort(key=lambda m: m[0])
        return fn
    return deco


def matchers() -> list[tuple[str, Matcher]]:
    return [(name, fn) for _, name, fn in _MATCHERS]


from . import builtin_llamacpp, exact, map_rules, order, structure, suffix, verify  # noqa: F401

__all__ = ["Matcher", "matcher", "matchers"]
