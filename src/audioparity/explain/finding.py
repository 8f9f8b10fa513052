"""What a signature reports (:class:`Finding`) and what it may know around the pair
(:class:`ExplainContext`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: The ``cause`` vocabulary of SPEC.md, in the order the docs list it, plus the extensions
#: ``dropped`` (a constant port where the reference varies: seed 004's ignored text) and
#: ``length`` (lengths differ along one axis, the overlap matches: a trim or pad).
CAUSES = (
    "layout", "rope_variant", "scale", "affine", "shift", "missing_norm", "norm_eps",
    "permutation", "offset", "sign", "reversed", "clipping", "mask", "drift", "activation",
    "precision", "nonfinite", "weights_not_loaded", "dropped", "length", "unknown",
)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_safe(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass
class Finding:
    """One cause that fits a (reference, port) pair.

    Attributes
    ----------
    cause : str
        A name from :data:`CAUSES`.
    confidence : float
        0..1, calibrated across signatures: sorting findings by it ranks the causes.
    detail : str
        One human line with the numbers (``port = ref × 0.000488 ≈ 1/2048 = 1/n_fft``).
    params : dict
        Machine-readable fitted parameters (JSON-safe: lists, floats, ints, str).
    hint : str
        What to change in the port.
    """

    cause: str
    confidence: float
    detail: str
    params: dict = field(default_factory=dict)
    hint: str = ""

    def __post_init__(self) -> None:
        if self.cause not in CAUSES:
            raise ValueError(f"cause {self.cause!r} is not in the SPEC vocabulary")
        self.confidence = float(min(1.0, max(0.0, self.confidence)))
        self.params = _json_safe(self.params)

    def to_json(self) -> dict:
        """``{"cause", "confidence", "detail", "params", "hint"}``."""
        return {"cause": self.cause, "confidence": round(self.confidence, 4),
                "detail": self.detail, "params": self.params, "hint": self.hint}


def _none(_name: str) -> np.ndarray | None:
    return None


@dataclass
class ExplainContext:
    """What the trace knows around the pair being explained.

    ``get_ref`` / ``get_port`` fetch other tensors by their reference-side name (a module's
    recorded inputs are ``NAME:in0``, ``NAME:in1`` …) and return None when absent.
    ``history`` holds earlier pairs' metrics dicts (name, max_abs, rel_l2, cosine, snr_db, ok).
    ``port_qtype`` is the port tensor's GGUF quantization type when it was dequantized;
    ``upstream_dtypes`` the stored dtypes recorded upstream on each side (``"ref"``,
    ``"port"``), when the caller knows them. ``complex_pair``: the pair is a complex
    tensor's real ``[..., 2]`` view.
    """

    name: str = ""
    module_type: str | None = None
    ref_dtype: str = "float32"
    port_dtype: str = "float32"
    get_ref: Callable[[str], np.ndarray | None] = _none
    get_port: Callable[[str], np.ndarray | None] = _none
    previous_name: str | None = None
    previous_ok: bool | None = None
    history: list[dict] = field(default_factory=list)
    port_qtype: str | None = None  # GGUF quantization type of the port tensor (Q8_0, Q4_K …)
    #: Stored dtypes of the tensors each side recorded before this one (its inputs
    #: included), e.g. ``{"port": ("bfloat16",)}``: a model fed bf16 features that writes
    #: float32 activations still rounds — evidence for ``precision``.
    upstream_dtypes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: The pair is a complex tensor stored as its real ``[..., 2]`` view (real, imag on the
    #: last axis): a complex dtype in the file or the trace meta's ``complex`` list. Without
    #: it a last axis of 2 is just two channels (a stereo pair is not a spectrum).
    complex_pair: bool = False

    def input(self, index: int = 0, side: str = "ref") -> np.ndarray | None:
        """The module's recorded positional input ``NAME:in{index}`` (None when not recorded).

        ``side="port"`` prefers the port's own recording and falls back to the reference's.
        """
        if not self.name:
            return None
        key = f"{self.name}:in{index}"
        getters = (self.get_port, self.get_ref) if side == "port" else (self.get_ref,)
        for get in getters:
            try:
                value = get(key)
            except (KeyError, OSError, ValueError):
                value = None
            if value is not None:
                return np.asarray(value)
        return None
