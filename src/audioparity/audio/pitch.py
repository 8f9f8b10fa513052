"""Fundamental frequency and periodicity (YIN, de Cheveigné & Kawahara 2002), vectorised."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .spectral import frame_signal, resample

PITCH_SR = 16000
"""Signals are resampled to this rate (Hz) before pitch analysis."""
F0_MIN_HZ = 50.0
F0_MAX_HZ = 1000.0
VOICING_THRESHOLD = 0.2
"""A frame is voiced when its cumulative-mean-normalised difference dips below this."""
BLOCK_FRAMES = 2048
"""Frames analysed at once (bounded memory on long clips)."""


@dataclass(frozen=True)
class PitchTrack:
    """Per-frame pitch analysis at a 10 ms hop.

    Attributes
    ----------
    f0_hz : f0 estimate per frame in Hz (NaN where unvoiced).
    aperiodicity : minimum of the normalised difference per frame, 0 (periodic) .. ~1 (noise).
    hop_s : frame hop in seconds.
    """

    f0_hz: np.ndarray
    aperiodicity: np.ndarray
    hop_s: float

    @property
    def voiced(self) -> np.ndarray:
        return ~np.isnan(self.f0_hz)


def yin(y: np.ndarray, sr: int, fmin_hz: float = F0_MIN_HZ, fmax_hz: float = F0_MAX_HZ,
        threshold: float = VOICING_THRESHOLD, hop_s: float = 0.010) -> PitchTrack:
    """YIN f0 track of a mono signal.

    Parameters
    ----------
    y : mono signal; sr : its sample rate in Hz (resampled to 16 kHz internally).
    fmin_hz, fmax_hz : f0 search range in Hz.
    threshold : voicing threshold on the cumulative-mean-normalised difference.
    hop_s : hop in seconds.
    """
    x = resample(y, sr, PITCH_SR)
    tau_max = int(np.ceil(PITCH_SR / fmin_hz))
    tau_min = max(2, int(np.floor(PITCH_SR / fmax_hz)))
    hop = round(hop_s * PITCH_SR)
    frames = frame_signal(x, 3 * tau_max, hop)  # integration window W = 2·tau_max
    f0, aperiodicity = [], []
    for start in range(0, len(frames), BLOCK_FRAMES):
        block_f0, block_ap = _yin_block(frames[start: start + BLOCK_FRAMES], tau_min, tau_max,
                                        threshold)
        f0.append(block_f0)
        aperiodicity.append(block_ap)
    return PitchTrack(f0_hz=np.concatenate(f0).astype(np.float32),
                      aperiodicity=np.concatenate(aperiodicity).astype(np.float32),
                      hop_s=hop / PITCH_SR)


def _yin_block(frames: np.ndarray, tau_min: int, tau_max: int,
               threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """f0 (Hz, NaN when unvoiced) and aperiodicity for a block of 16 kHz frames."""
    window = 2 * tau_max
    frames = frames.astype(np.float64)
    frames = frames - frames.mean(axis=1, keepdims=True)
    n_fft = 1 << int(np.ceil(np.log2(window + 2 * tau_max)))
    head = np.fft.rfft(frames[:, :window], n_fft, axis=1)
    full = np.fft.rfft(frames, n_fft, axis=1)
    corr = np.fft.irfft(np.conj(head) * full, n_fft, axis=1)[:, : tau_max + 1]
    sq = np.cumsum(np.pad(frames ** 2, ((0, 0), (1, 0))), axis=1)
    energy0 = sq[:, window][:, None]
    taus = np.arange(tau_max + 1)
    energy_tau = sq[:, taus + window] - sq[:, taus]
    diff = np.maximum(energy0 + energy_tau - 2.0 * corr, 0.0)
    cum = np.cumsum(diff[:, 1:], axis=1)
    cmnd = np.ones_like(diff)
    cmnd[:, 1:] = diff[:, 1:] * taus[1:] / np.maximum(cum, 1e-12)
    search = cmnd[:, tau_min: tau_max]
    below = search < threshold
    # first dip under the threshold, then walk to its local minimum (YIN step 4)
    idx = np.where(below.any(axis=1), below.argmax(axis=1), search.argmin(axis=1))
    rows = np.arange(len(search))
    for _ in range(tau_max):
        nxt = np.minimum(idx + 1, search.shape[1] - 1)
        step = search[rows, nxt] < search[rows, idx]
        if not step.any():
            break
        idx = np.where(step, nxt, idx)
    # a dip at the edge of the search range is no true minimum (an octave error or a
    # harmonic): take the deepest interior dip instead
    edge = idx == 0
    interior = search[:, 1:].argmin(axis=1) + 1
    idx = np.where(edge, interior, idx)
    best = search[rows, idx]
    silent = energy0[:, 0] < 1e-10 * window  # an all-zero frame is not periodic
    best = np.where(silent, 1.0, best)
    # parabolic interpolation around the chosen lag
    left = search[rows, np.maximum(idx - 1, 0)]
    right = search[rows, np.minimum(idx + 1, search.shape[1] - 1)]
    denom = left - 2 * best + right
    safe = np.where(np.abs(denom) > 1e-12, denom, 1.0)
    offset = np.where(np.abs(denom) > 1e-12, 0.5 * (left - right) / safe, 0.0)
    f0 = PITCH_SR / (idx + tau_min + np.clip(offset, -1, 1))
    aperiodicity = np.where(silent, 1.0, np.clip(search.min(axis=1), 0.0, 1.5))
    return np.where(best < threshold, f0, np.nan), aperiodicity
