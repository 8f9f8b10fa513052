"""Short-time spectra and mel filterbanks: pure NumPy functions of ``(y, sr)``."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from scipy.signal import resample_poly

FRAME_S = 0.032
"""Analysis frame length in seconds (32 ms: 512 samples at 16 kHz)."""
HOP_S = 0.010
"""Analysis hop in seconds (10 ms)."""


def frame_signal(y: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """View ``y`` as overlapping frames, shape ``(n_frames, frame_length)`` (no copy).

    The tail that does not fill a whole frame is dropped; a signal shorter than one frame
    is zero-padded to a single frame.
    """
    y = np.ascontiguousarray(y)
    if len(y) < frame_length:
        y = np.pad(y, (0, frame_length - len(y)))
    n_frames = 1 + (len(y) - frame_length) // hop_length
    return np.lib.stride_tricks.as_strided(
        y, shape=(n_frames, frame_length), strides=(y.strides[0] * hop_length, y.strides[0]),
        writeable=False)


def frame_lengths(sr: int, frame_s: float = FRAME_S, hop_s: float = HOP_S) -> tuple[int, int]:
    """Frame and hop lengths in samples for a sample rate ``sr`` in Hz."""
    return max(16, round(frame_s * sr)), max(1, round(hop_s * sr))


BLOCK_FRAMES = 2048
"""Frames transformed at once, so long clips never hold every frame's FFT in memory."""


def iter_power_blocks(y: np.ndarray, sr: int, frame_s: float = FRAME_S, hop_s: float = HOP_S,
                      block_frames: int = BLOCK_FRAMES) -> Iterator[np.ndarray]:
    """Yield the Hann-windowed power spectrogram in consecutive blocks of frames.

    Each block is ``(<= block_frames, n_bins)`` float32; see :func:`power_spectrogram`.
    """
    n, hop = frame_lengths(sr, frame_s, hop_s)
    frames = frame_signal(np.asarray(y, dtype=np.float32), n, hop)
    window = np.hanning(n).astype(np.float32)
    for start in range(0, len(frames), block_frames):
        spec = np.fft.rfft(frames[start: start + block_frames] * window, axis=1)
        yield (spec.real ** 2 + spec.imag ** 2).astype(np.float32)


def power_spectrogram(y: np.ndarray, sr: int, frame_s: float = FRAME_S,
                      hop_s: float = HOP_S) -> tuple[np.ndarray, np.ndarray]:
    """Hann-windowed power spectrogram.

    Parameters
    ----------
    y : mono signal, full scale 1.0.
    sr : sample rate in Hz.
    frame_s, hop_s : frame length and hop in seconds.

    Returns
    -------
    power : ``(n_frames, n_bins)`` float32, squared magnitude.
    freqs_hz : ``(n_bins,)`` bin centre frequencies in Hz.
    """
    n = frame_lengths(sr, frame_s, hop_s)[0]
    power = np.concatenate(list(iter_power_blocks(y, sr, frame_s, hop_s)))
    return power, np.fft.rfftfreq(n, 1.0 / sr)


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """Hertz to mel (HTK formula ``2595 log10(1 + f/700)``)."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    """Mel (HTK) to Hertz."""
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(sr: int, n_fft: int, n_mels: int = 80, fmin_hz: float = 0.0,
                   fmax_hz: float | None = None) -> np.ndarray:
    """Triangular mel filterbank, shape ``(n_mels, n_fft // 2 + 1)``, area-normalised (Slaney)."""
    fmax_hz = sr / 2 if fmax_hz is None else fmax_hz
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin_hz), hz_to_mel(fmax_hz), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs[None, :] - lower) / np.maximum(centre - lower, 1e-9)
    falling = (upper - freqs[None, :]) / np.maximum(upper - centre, 1e-9)
    bank = np.clip(np.minimum(rising, falling), 0.0, None)
    bank *= (2.0 / np.maximum(upper - lower, 1e-9))
    return bank.astype(np.float32)


def log_mel_spectrogram(y: np.ndarray, sr: int, n_mels: int = 80, frame_s: float = FRAME_S,
                        hop_s: float = HOP_S, floor: float = 1e-5) -> np.ndarray:
    """Natural-log mel magnitude spectrogram, shape ``(n_mels, n_frames)``.

    Magnitudes (not power) through an area-normalised filterbank, clamped at ``floor``
    before the log, as HiFi-GAN/Vocos-style front-ends do (silence sits at ``ln(1e-5) = -11.5``).
    """
    power, _ = power_spectrogram(y, sr, frame_s, hop_s)
    n_fft = frame_lengths(sr, frame_s, hop_s)[0]
    bank = mel_filterbank(sr, n_fft, n_mels, fmax_hz=min(sr / 2, 8000.0))
    mel = np.sqrt(power) @ bank.T
    return np.log(np.maximum(mel, floor)).T.astype(np.float32)


def resample(y: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
    """Polyphase resampling from ``sr_from`` Hz to ``sr_to`` Hz (anti-aliased)."""
    if sr_from == sr_to:
        return np.asarray(y, dtype=np.float32)
    g = np.gcd(int(sr_from), int(sr_to))
    return resample_poly(np.asarray(y, dtype=np.float32), sr_to // g, sr_from // g).astype(
        np.float32)
