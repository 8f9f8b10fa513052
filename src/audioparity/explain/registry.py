"""The signature registry: every module of this package that defines a signature registers
it with :func:`signature`; :func:`signatures` imports them all on first use, so adding a
signature means adding one module and touching nothing else."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .finding import CAUSES, ExplainContext, Finding

Match = Callable[[np.ndarray, np.ndarray, ExplainContext], "Finding | None"]

#: Modules of the package that hold machinery, not signatures.
_NOT_SIGNATURES = {"finding", "registry", "arrays", "constants", "engine", "norms", "rope_math",
                   "attention_math", "compound", "istft_window", "snake_math"}


@dataclass(frozen=True)
class Signature:
    """A registered signature: the cause it names and its ``match`` function.

    ``same_shape`` signatures only run when ref and port have the same shape;
    ``dtypes="float"`` ones only on float pairs, ``"integer"`` ones only on integer pairs.
    """

    cause: str
    match: Match
    same_shape: bool = True
    dtypes: str = "any"  # "any" | "float" | "integer"


_REGISTRY: dict[str, Signature] = {}
_loaded = False


def signature(cause: str, *, same_shape: bool = True, dtypes: str = "any"
              ) -> Callable[[Match], Match]:
    """Decorator registering ``match(ref, port, ctx) -> Finding | None`` for ``cause``."""
    if cause not in CAUSES:
        raise ValueError(f"cause {cause!r} is not in the SPEC vocabulary")

    def register(match: Match) -> Match:
        _REGISTRY[cause] = Signature(cause, match, same_shape, dtypes)
        return match

    return register


def signatures(kinds: Sequence[str] | None = None) -> list[Signature]:
    """The registered signatures (all, or those naming ``kinds``), in vocabulary order."""
    _load_all()
    wanted = CAUSES if kinds is None else [k for k in CAUSES if k in set(kinds)]
    return [_REGISTRY[k] for k in wanted if k in _REGISTRY]


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    for module in pkgutil.iter_modules(_package_path()):
        if module.name not in _NOT_SIGNATURES:
            importlib.import_module(f"{__package__}.{module.name}")
    _loaded = True


def _package_path() -> list[str]:
    return list(importlib.import_module(__package__).__path__)
