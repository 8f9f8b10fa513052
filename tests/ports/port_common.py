"""Shared pieces of the port gallery: random weights, the plain capture flow on both sides.

Every gallery case is a real PyTorch reference (random tiny config) and a real port of it
(mlx-audio's MLX module, or a NumPy port that dumps like llama.cpp) loaded with the same
weights. The flow is the documented one and nothing else: torch capture of the reference,
MLX capture (or a dump) of the port, ``compare_traces(ref, port)`` — no map file, no trace
rewriting, no exclusions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def randomize_(module: Any, seed: int = 0, scale: float = 0.1) -> None:
    """Give every parameter of a torch module values away from its init, in place.

    Norm weights (``norm``/``gamma``/``scale`` in the name) become ``1 + scale * randn``,
    everything else ``scale * randn``: a missing norm or an unloaded tensor then shows.
    """
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float32).to(p.dtype)
            is_norm = ("norm" in name.lower() and name.endswith("weight")) or name.endswith(
                ("gamma", "scale"))
            p.copy_(1 + scale * noise if is_norm else scale * noise)


def torch_trace(model: Any, path: Path, call: Callable[[], Any], **capture_kwargs: Any) -> Path:
    """Run ``call()`` under the torch capture of ``model``; write the reference trace."""
    import torch

    from audioparity.sources.torch_capture import capture

    with torch.no_grad(), capture(model, path, **capture_kwargs):
        call()
    return path


def mlx_trace(model: Any, path: Path, call: Callable[[], Any], **capture_kwargs: Any) -> Path:
    """Run ``call()`` under the MLX capture of ``model``; write the port trace."""
    from audioparity.sources.mlx_capture import capture

    with capture(model, path, **capture_kwargs):
        call()
    return path


class PlantedCrash(RuntimeError):
    """What a crashing port raises in the gallery (a port that dies half-way)."""


def plant_crash(module: Any) -> None:
    """Make one MLX module of a port raise when called (its trace must end there)."""
    cls = type(module)

    class Crashing(cls):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            raise PlantedCrash(f"planted crash in {cls.__name__}")

    module.__class__ = Crashing


@dataclass(frozen=True)
class Bug:
    """A bug planted in a port's module, and where the gallery expects it found.

    ``where``: the reference trace name of the first divergence (the planted component's
    output); ``causes``: the catalogue causes that name it (any of them at the top passes);
    an empty tuple means the catalogue is not expected to name it. ``port``: the port
    trace's name for the same component (default: ``where``); the pair must be exactly it.
    """

    name: str
    where: str
    causes: tuple[str, ...] = ()
    port: str | None = None  # the port's own name for the component, when it differs
    changes_shape: bool = False  # the bug itself changes the tensor's shape (a dropped sample)


@dataclass
class Outcome:
    """What the plain flow said on one case (for assertions and for the findings notes)."""

    status: str
    where: str | None
    port_name: str | None
    causes: list[str] = field(default_factory=list)
    detail: str = ""
    pairs: int = 0
    conventions: list[str] = field(default_factory=list)  # the summary's convention lines

    @classmethod
    def of(cls, result: Any) -> Outcome:
        conventions = [str(c) for c in result.to_json().get("conventions") or []]
        first = result.first_divergence
        if first is None:
            return cls(result.status, None, None, [], "", len(result.entries), conventions)
        return cls(result.status, first.name, first.entry.port_name,
                   [c.cause for c in first.causes], first.entry.detail, len(result.entries),
                   conventions)


def compare(ref: Path, port: Path) -> Outcome:
    """The plain ``compare_traces(ref, port)``, summarised."""
    from audioparity.compare import compare_traces

    return Outcome.of(compare_traces(ref, port))
