"""Record calls of module-level functions (the captures' ``functions=``) by patching them.

While capturing, ``owner.attr`` is replaced by a wrapper that records the call under
``<enclosing module path>.<function>`` (``model.layers.0.self_attn.apply_rotary_pos_emb``;
just ``<function>`` outside any module or in the root), with inputs numbered like a module's
(see :mod:`audioparity.sources.signature`). The original is put back on exit.

Only code that looks the function up through the patched attribute at call time sees the
wrapper: ``nn.leaky_relu(x)`` or ``mx.fast.rms_norm(x, w, eps)`` is recorded, a name bound
earlier with ``from mlx.nn import leaky_relu`` is not (patch the module that name lives in).
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .naming import ROOT_NAME
from .recorder import Recorder
from .signature import InputSlots


def resolve_function(dotted: str) -> tuple[Any, str]:
    """(owner module, attribute name) of ``"package.module.function"``."""
    module_name, _, attr = dotted.rpartition(".")
    if not module_name:
        raise ValueError(f"{dotted!r} is not a dotted path module.function")
    owner = importlib.import_module(module_name)
    if not callable(getattr(owner, attr, None)):
        raise TypeError(f"{dotted} is not a function")
    return owner, attr


def recording_wrapper(rec: Recorder, fn: Callable[..., Any], fname: str,
                      inputs: bool) -> Callable[..., Any]:
    """``fn`` that records its inputs (when ``inputs``) and outputs into ``rec``."""
    slots = InputSlots.of(fn) if inputs else None

    def recorded(*args: Any, **kwargs: Any) -> Any:
        parent = rec.current_module
        path = f"{parent}.{fname}" if parent and parent != ROOT_NAME else fname
        base = rec.enter(path)
        try:
            if inputs:
                rec.record_inputs(base, path, args, kwargs, slots)
            result = fn(*args, **kwargs)
            rec.record(base, path, result, "out")
            return result
        finally:
            rec.leave()

    recorded.__wrapped__ = fn  # type: ignore[attr-defined]
    recorded.__name__ = fname
    return recorded


@contextlib.contextmanager
def patch_functions(rec: Recorder, functions: Sequence[str], inputs: bool) -> Iterator[None]:
    """Patch each dotted path in ``functions`` to record into ``rec`` while in the block."""
    patched: list[tuple[Any, str, Any]] = []
    try:
        for dotted in functions:
            owner, attr = resolve_function(dotted)
            original = getattr(owner, attr)
            patched.append((owner, attr, original))
            setattr(owner, attr, recording_wrapper(rec, original, attr, inputs))
        yield
    finally:
        for owner, attr, original in reversed(patched):
            setattr(owner, attr, original)
