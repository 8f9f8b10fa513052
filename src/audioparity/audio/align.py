"""Aligning a port's audio with the reference's: lag, polarity, gain, time reversal and
sample-rate mistakes. Pure functions of arrays; signals are mono float32.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import correlate

from .spectral import resample

STANDARD_RATES_HZ = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
EPS = 1e-12


@dataclass(frozen=True)
class Lag:
    """Best alignment of ``port`` to ``ref``: ``port[n] ≈ sign · ref[n - samples]``.

    samples : lag in samples (positive: the port is late).
    correlation : peak normalised cross-correlation, -1..1 (negative: inverted polarity).
    """

    samples: int
    correlation: float


def estimate_lag(ref: np.ndarray, port: np.ndarray, max_lag: int | None = None) -> Lag:
    """Lag maximising ``|xcorr(port, ref)|`` (FFT cross-correlation), within ``±max_lag``."""
    if len(ref) == 0 or len(port) == 0:
        return Lag(0, 0.0)
    r = ref - ref.mean()
    p = port - port.mean()
    c = correlate(p.astype(np.float64), r.astype(np.float64), mode="full", method="fft")
    lags = np.arange(-(len(r) - 1), len(p))
    if max_lag is not None:
        keep = np.abs(lags) <= max_lag
        c, lags = c[keep], lags[keep]
    k = int(np.argmax(np.abs(c)))
    norm = np.sqrt(np.sum(r.astype(np.float64) ** 2) * np.sum(p.astype(np.float64) ** 2))
    return Lag(int(lags[k]), float(c[k] / norm) if norm > 0 else 0.0)


def overlap(ref: np.ndarray, port: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """The parts of ``ref`` and ``port`` that coincide once ``port`` is moved back by ``lag``."""
    if lag >= 0:
        p = port[lag:]
        r = ref
    else:
        p = port
        r = ref[-lag:]
    n = min(len(r), len(p))
    return r[:n], p[:n]


def best_gain(ref: np.ndarray, port: np.ndarray) -> float:
    """Least-squares ``c`` in ``port ≈ c · ref`` (negative for inverted polarity)."""
    den = float(np.dot(ref.astype(np.float64), ref))
    return float(np.dot(ref.astype(np.float64), port) / den) if den > EPS else 0.0


def nearest_constant(c: float, rel_tol: float = 0.02) -> str | None:
    """Name a known constant within ``rel_tol`` of ``|c|``: ``1/n_fft``, int16 full scale, ..."""
    c = abs(c)
    known: list[tuple[str, float]] = [(f"1/{n} (1/n_fft, n_fft={n})", 1.0 / n)
                                      for n in (256, 512, 800, 1024, 1280, 2048, 4096)]
    known += [(f"{n} (n_fft={n}, missing 1/n_fft)", float(n)) for n in (512, 1024, 2048)]
    known += [("32768 (int16 full scale not divided out)", 32768.0),
              ("1/32768 (divided by int16 full scale twice)", 1 / 32768.0),
              ("2", 2.0), ("1/2", 0.5), ("sqrt(2)", np.sqrt(2)), ("1/sqrt(2)", 1 / np.sqrt(2))]
    for name, value in known:
        if abs(c - value) <= rel_tol * value:
            return name
    return None


def padding_hints(lag: int) -> list[str]:
    """STFT padding conventions whose difference is ``|lag|`` samples (seed 000: 1024 vs 768)."""
    k = abs(lag)
    hints = []
    for n in (512, 1024, 2048, 4096):
        for hop in (n // 4, n // 2):
            if k == n // 2 - (n - hop) // 2:
                hints.append(f"{k} = {n}/2 - ({n}-{hop})/2: ISTFT padding win/2 vs (win-hop)/2 "
                             f"(win={n}, hop={hop})")
            if k == (n - hop) // 2:
                hints.append(f"{k} = ({n}-{hop})/2: ISTFT 'same' padding trimmed on one side only")
        if k == n // 2:
            hints.append(f"{k} = {n}/2: center=True padding not removed (n_fft={n})")
    return hints


@dataclass(frozen=True)
class RateFix:
    """A sample-rate mistake: the port's samples sound right at ``content_hz``, not at the
    ``written_hz`` in its header."""

    written_hz: int
    content_hz: int
    correlation_before: float
    correlation_after: float


def detect_rate_mistake(ref: np.ndarray, sr: int, port: np.ndarray, port_sr: int,
                        max_s: float = 20.0) -> RateFix | None:
    """Find a standard rate at which the port's samples line up with the reference.

    Candidates are standard rates ``c`` (8-48 kHz) that make the durations agree within 3 %
    (``len(port)/c ≈ len(ref)/sr``); one is accepted when re-reading the port at ``c`` raises
    the normalised cross-correlation above 0.5 and by at least 0.2. Only the first ``max_s``
    seconds are tried, to bound the work on long clips.
    """
    n_ref = min(len(ref), int(max_s * sr))
    if n_ref == 0 or len(port) == 0:
        return None
    implied = len(port) * sr / len(ref)
    candidates = [c for c in STANDARD_RATES_HZ
                  if c != port_sr and abs(c - implied) <= 0.03 * implied]
    if not candidates:
        return None
    r = ref[:n_ref]
    base = resample(port, port_sr, sr)[: int(n_ref * 1.1)]
    before = abs(estimate_lag(r, base).correlation)
    best: RateFix | None = None
    for c in candidates:
        fixed = resample(port[: int(max_s * c * 1.1)], c, sr)
        after = abs(estimate_lag(r, fixed[: int(n_ref * 1.1)]).correlation)
        if after > 0.5 and after >= before + 0.2 and (
                best is None or after > best.correlation_after):
            best = RateFix(port_sr, c, before, after)
    return best
