"""The shared state of an alignment: both traces' tensors, what is paired so far, and the
helpers matchers use to judge a candidate pair (shapes under the port conventions, module
types, value fingerprints)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from ..trace import TensorInfo
from .conventions import Transform, candidates
from .fingerprint import AGREE, Fingerprints
from .mapping import MapRules, module_path, split_name

#: module class kinds whose disagreement proves two tensors are not the same module's
_KINDS = (
    ("identity", ("identity", "dropout")),
    ("activation", ("elu", "relu", "gelu", "silu", "tanh", "sigmoid", "snake", "softplus",
                    "mish", "swish", "activation", "hardswish")),
    ("norm", ("norm",)),
    ("conv", ("conv",)),
    ("embedding", ("embedding", "codebook")),
    ("linear", ("linear", "dense")),
)


def module_kind(class_name: str | None) -> str | None:
    """``"conv"`` for ``Conv1d``/``ConvTranspose1d``, ``"activation"`` for ``ELU`` …; None
    when unknown."""
    if not class_name:
        return None
    low = class_name.lower()
    for kind, words in _KINDS:
        if any(w in low for w in words):
            return kind
    return None


@lru_cache(maxsize=4096)
def _candidates(ref_shape: tuple[int, ...], port_shape: tuple[int, ...]) -> tuple:
    return tuple(candidates(ref_shape, port_shape))


@dataclass
class AlignState:
    """What every matcher reads and extends. ``matched``: port name -> (ref name, method)."""

    ref: list[TensorInfo]
    port: list[TensorInfo]
    rules: MapRules = field(default_factory=MapRules)
    fingerprints: Fingerprints | None = None
    ref_modules: dict[str, str] = field(default_factory=dict)
    port_modules: dict[str, str] = field(default_factory=dict)
    strict_layout: bool = False
    by_order: bool = True
    matched: dict[str, tuple[str, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    skipped_segments: int = 0

    def __post_init__(self) -> None:
        self.ref_info = {i.name: i for i in self.ref}
        self.port_info = {i.name: i for i in self.port}
        self.ref_pos = {i.name: k for k, i in enumerate(self.ref)}
        self.port_pos = {i.name: k for k, i in enumerate(self.port)}
        self._differences: dict[tuple[str, str], float] = {}
        self._relatedness: dict[tuple[str, str], float | None] = {}

    # -- bookkeeping ------------------------------------------------------------------
    def ref_owner(self) -> dict[str, str]:
        """ref name -> the port name paired with it."""
        return {r: p for p, (r, _) in self.matched.items()}

    def pair(self, port: str, ref: str, method: str) -> None:
        """Pair ``port`` with ``ref``, releasing whatever either was paired with before."""
        for p, (r, _) in list(self.matched.items()):
            if r == ref:
                del self.matched[p]
        self.matched[port] = (ref, method)

    def free_ref(self) -> list[TensorInfo]:
        taken = {r for r, _ in self.matched.values()}
        return [i for i in self.ref if i.name not in taken]

    def free_port(self) -> list[TensorInfo]:
        return [i for i in self.port if i.name not in self.matched]

    # -- judging a candidate pair -----------------------------------------------------------
    def transforms(self, ref: TensorInfo, port: TensorInfo) -> list[Transform]:
        """Convention readings of ``port`` as ``ref`` (none under ``strict_layout``)."""
        if self.strict_layout:
            return []
        return list(_candidates(tuple(ref.shape), tuple(port.shape)))

    def compatible(self, ref: TensorInfo, port: TensorInfo) -> bool:
        """Equal shapes, or a port convention reads one as the other."""
        return ref.shape == port.shape or bool(self.transforms(ref, port))

    def types_conflict(self, ref_name: str, port_name: str) -> bool:
        """Both traces record the modules' classes and they are of different kinds
        (an ``ELU`` against a ``Conv1d``, an ``Identity`` against an ``Embedding``)."""
        a = module_kind(self.ref_modules.get(module_path(ref_name)))
        b = module_kind(self.port_modules.get(module_path(port_name)))
        return a is not None and b is not None and a != b

    def difference(self, ref_name: str, port_name: str) -> float:
        """Fingerprint difference of a pair under its best reading (inf when unknown)."""
        key = (ref_name, port_name)
        if key not in self._differences:
            self._differences[key] = self._difference(ref_name, port_name)
        return self._differences[key]

    def _difference(self, ref_name: str, port_name: str) -> float:
        if self.fingerprints is None:
            return float("inf")
        r, p = self.ref_info[ref_name], self.port_info[port_name]
        if not self.compatible(r, p):
            return float("inf")
        return self.fingerprints.best(ref_name, port_name, r.shape, p.shape,
                                      self.transforms(r, p))[1]

    def agrees(self, ref_name: str, port_name: str) -> bool:
        return self.difference(ref_name, port_name) <= AGREE

    def relatedness(self, ref_name: str, port_name: str) -> float | None:
        """|correlation| of the pair's fingerprints under its best reading (None: unknown)."""
        key = (ref_name, port_name)
        if key not in self._relatedness:
            self._relatedness[key] = self._related(ref_name, port_name)
        return self._relatedness[key]

    def _related(self, ref_name: str, port_name: str) -> float | None:
        from .fingerprint import relatedness

        if self.fingerprints is None:
            return None
        r, p = self.ref_info[ref_name], self.port_info[port_name]
        if not self.compatible(r, p):
            return None
        t, _ = self.fingerprints.best(ref_name, port_name, r.shape, p.shape,
                                      self.transforms(r, p))
        if t is None:
            return None
        return relatedness(self.fingerprints.ref(ref_name, t.ref_shape),
                           self.fingerprints.port(port_name, t))


def is_input(name: str) -> bool:
    """``NAME:inN``: a recorded module input."""
    return ":in" in split_name(name)[2]
