"""Values crossing the port boundary: a component's outputs as NumPy by output index, and
recorded inputs placed into a call by the parameter they filled.

Output indices follow the captures' naming: a tensor is output 0 (``NAME``); element k of a
tuple, list, dict or transformers ``ModelOutput`` is output k (``NAME:outk``; elements that are
not arrays keep their index and are skipped).

>>> sorted(as_outputs((np.zeros(2), None, np.ones(3))))
[0, 2]
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from ..sources.signature import InputSlots


def to_numpy(value: Any) -> np.ndarray | None:
    """A torch tensor, MLX array or NumPy array as NumPy (bf16 widened to float32,
    exactly); None for anything else."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, np.generic):
        return np.asarray(value)
    module = type(value).__module__
    if module.startswith("torch") and hasattr(value, "detach"):
        import torch

        t = value.detach().cpu()
        if t.dtype in (torch.bfloat16, torch.float8_e4m3fn, torch.float8_e5m2):
            t = t.float()
        return t.numpy()
    if module.startswith("mlx"):
        import mlx.core as mx

        if isinstance(value, mx.array):
            if value.dtype == mx.bfloat16:
                value = value.astype(mx.float32)
            return np.array(value)
    return None


def elements(value: Any) -> list[Any]:
    """The indexed elements of an output: itself for an array, else the container's items
    (a ``ModelOutput``'s non-None fields, as the captures number them)."""
    if to_numpy(value) is not None:
        return [value]
    if hasattr(value, "to_tuple"):  # transformers ModelOutput
        return list(value.to_tuple())
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, (tuple, list)):
        return list(value)
    return []


def as_outputs(value: Any) -> dict[int, np.ndarray]:
    """Output index -> NumPy array, for whatever a component returned."""
    out = {}
    for k, item in enumerate(elements(value)):
        array = to_numpy(item)
        if array is not None:
            out[k] = array
    return out


def place(inputs: dict[int | str, Any], fn: Callable[..., Any] | None,
          skip: tuple[str, ...] = ()) -> tuple[list[Any], dict[str, Any]]:
    """``(args, kwargs)`` that put recorded input k into the parameter it filled.

    Inputs 0..n-1 without a gap go positionally; an input after a gap (the reference passed
    a non-tensor there, or nothing) goes by its parameter's name in ``fn``'s signature, so
    the skipped parameters keep their defaults; one past the named parameters of a ``fn``
    taking ``**kwargs`` was passed under a keyword the capture does not keep, and is left
    out. A string key is a value the trace implies
    for a parameter of that name (:func:`~audioparity.isolate.recorded.implied_keywords`):
    passed only when ``fn`` has such a parameter and nothing filled it. A parameter without
    a default that nothing filled and whose annotation admits ``None`` gets ``None`` (the
    reference passed a non-tensor; the capture records tensors only). ``skip`` names
    parameters of ``fn`` that are not the reference's (a port's ``hook``). Raises
    ValueError when an input has no parameter to go to.
    """
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    slots = InputSlots.of(fn) if fn is not None else None
    params = [p for p in slots.params if p not in skip] if slots is not None else []
    implied = {k: v for k, v in inputs.items() if isinstance(k, str)}
    inputs = {k: v for k, v in inputs.items() if isinstance(k, int)}
    var_keyword = _has_var_keyword(fn)
    for k in sorted(inputs):
        if not kwargs and k == len(args):
            args.append(inputs[k])
            continue
        if var_keyword and slots is not None and k >= len(params):
            continue  # it went into **kwargs under a name the capture does not keep
        if slots is None or k >= len(params) or (
                slots.var_positional is not None and k >= slots.var_positional) or \
                params[k] in slots.positional_only:
            where = "its signature is unknown" if slots is None else \
                f"it takes {params}"
            raise ValueError(f"recorded input in{k} follows a gap (in0..in{len(args) - 1} "
                             f"recorded) and has no parameter to go to by name: {where}")
        kwargs[params[k]] = inputs[k]
    filled = set(params[:len(args)]) | set(kwargs)
    for name, value in implied.items():
        if name in params and name not in filled:
            kwargs[name] = value
    for name in _optional_without_default(fn, params):
        if name not in filled and name not in kwargs:
            kwargs[name] = None
    return args, kwargs


def _has_var_keyword(fn: Callable[..., Any] | None) -> bool:
    try:
        sig = inspect.signature(fn) if fn is not None else None
    except (TypeError, ValueError):
        return False
    return sig is not None and any(p.kind is inspect.Parameter.VAR_KEYWORD
                                   for p in sig.parameters.values())


def _optional_without_default(fn: Callable[..., Any] | None, params: list[str]) -> list[str]:
    """Parameters of ``fn`` without a default whose annotation admits None
    (``mask: Tensor | None``, ``Optional[Tensor]``), in signature order."""
    if fn is None:
        return []
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return []
    out = []
    for p in sig.parameters.values():
        if p.name not in params or p.default is not inspect.Parameter.empty or p.kind in (
                inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD,
                inspect.Parameter.POSITIONAL_ONLY):
            continue
        text = p.annotation if isinstance(p.annotation, str) else repr(p.annotation)
        if "None" in text or "Optional" in text:
            out.append(p.name)
    return out
