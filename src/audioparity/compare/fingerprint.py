"""Value fingerprints: a few evenly strided elements of a tensor, read once, compared cheaply.

Alignment uses them to check a guess (do these two tensors hold the same values?) and
convention inference to choose between readings of a port tensor (is ``[B, C, C]``
channels-last?). A fingerprint is taken at fixed positions of the *reference* layout, so a
port tensor's fingerprint under a :class:`~audioparity.compare.conventions.Transform` reads
only the port elements that land there — from the memory map, never the whole tensor.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .conventions import Transform, identity, numel

#: elements per fingerprint
FINGERPRINT_SIZE = 1024
#: relative difference at or below which two fingerprints "agree" (the same tensor, give or
#: take rounding, precision or a small bug); above DISAGREE they are different tensors
AGREE = 0.1
DISAGREE = 0.5


def positions(shape: tuple[int, ...], size: int = FINGERPRINT_SIZE) -> np.ndarray:
    """Flat positions, evenly strided over a tensor of ``shape`` (at most ``size``)."""
    n = numel(shape)
    if n <= size:
        return np.arange(n, dtype=np.int64)
    return np.unique(np.linspace(0, n - 1, size).astype(np.int64))


def _gather(array: np.ndarray, flat: np.ndarray) -> np.ndarray:
    a = np.asarray(array)
    vals = a.reshape(-1)[flat] if a.ndim else a.reshape(1)[flat]
    vals = np.asarray(vals, dtype=np.float64)
    return np.where(np.isfinite(vals), vals, 0.0)


def difference(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """``‖a − b‖ / max(‖a‖, ‖b‖)`` (0 for two zero fingerprints; inf when not comparable)."""
    if a is None or b is None or a.shape != b.shape:
        return float("inf")
    scale = max(float(np.linalg.norm(a)), float(np.linalg.norm(b)))
    diff = float(np.linalg.norm(a - b))
    if scale == 0.0:
        return 0.0
    return diff / scale


class Fingerprints:
    """Fingerprints of two traces' tensors, computed on first use and cached.

    ``read_ref``/``read_port`` return a tensor by name (a memory map where possible).
    """

    def __init__(self, read_ref: Callable[[str], np.ndarray],
                 read_port: Callable[[str], np.ndarray], size: int = FINGERPRINT_SIZE):
        self._read_ref, self._read_port, self.size = read_ref, read_port, size
        self._ref: dict[str, np.ndarray] = {}
        self._port: dict[tuple, np.ndarray] = {}

    def ref(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        if name not in self._ref:
            self._ref[name] = _gather(self._read_ref(name), positions(shape, self.size))
        return self._ref[name]

    def port(self, name: str, transform: Transform) -> np.ndarray:
        key = (name, transform.port_shape, transform.pre_shape, transform.perm,
               transform.ref_shape)
        if key not in self._port:
            flat = transform.port_indices(positions(transform.ref_shape, self.size))
            self._port[key] = _gather(self._read_port(name), flat)
        return self._port[key]

    def difference(self, ref_name: str, port_name: str, transform: Transform) -> float:
        """Fingerprint difference of a pair with the port read through ``transform``."""
        return difference(self.ref(ref_name, transform.ref_shape),
                          self.port(port_name, transform))

    def best(self, ref_name: str, port_name: str, ref_shape: tuple[int, ...],
             port_shape: tuple[int, ...], transforms: list[Transform]
             ) -> tuple[Transform | None, float]:
        """The reading (identity when the shapes are equal, else one of ``transforms``) whose
        values come closest to the reference, and its difference."""
        options = ([identity(tuple(port_shape))] if tuple(ref_shape) == tuple(port_shape)
                   else []) + transforms
        best, best_d = None, float("inf")
        for t in options:
            d = self.difference(ref_name, port_name, t)
            if d < best_d:
                best, best_d = t, d
        return best, best_d


def relatedness(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """The larger of |cosine| and |Pearson correlation| of two fingerprints (0 … 1).

    Scale-, sign- and offset-blind: a port tensor with a scale or sign bug is still *related*
    to its reference; an unrelated tensor of the same shape is not.
    """
    if a is None or b is None or a.shape != b.shape or a.size < 2:
        return 0.0
    out = 0.0
    for x, y in ((a, b), (a - a.mean(), b - b.mean())):
        nx, ny = float(np.linalg.norm(x)), float(np.linalg.norm(y))
        if nx > 0 and ny > 0:
            out = max(out, abs(float(x @ y)) / nx / ny)
        elif nx == ny == 0:
            out = max(out, 1.0)
    return min(out, 1.0)
