"""Distances between a reference signal and an aligned port signal (same rate, same length).

Pure functions of ``(ref, port, sr)``; PESQ and STOI use the optional ``pesq`` / ``pystoi``
packages and return None with a reason when they are missing or cannot score the input.
"""

from __future__ import annotations

import numpy as np
from scipy.fft import dct

from .spectral import mel_filterbank, power_spectrogram, resample

EPS = 1e-12
MRSTFT_RESOLUTIONS_S = ((0.016, 0.004), (0.032, 0.008), (0.064, 0.016))
"""(frame, hop) in seconds; 512/1024/2048-sample frames at 32 kHz, as in Parallel WaveGAN."""


def snr_db(ref: np.ndarray, port: np.ndarray) -> float:
    """Waveform SNR ``10 log10(Σref² / Σ(ref-port)²)`` in dB (inf when identical)."""
    noise = float(np.sum((ref.astype(np.float64) - port) ** 2))
    signal = float(np.sum(ref.astype(np.float64) ** 2))
    if noise == 0:
        return float("inf")
    return float(10.0 * np.log10(max(signal, EPS) / noise))


def _log_power(power: np.ndarray, floor: float) -> np.ndarray:
    return 10.0 * np.log10(np.maximum(power, floor))


def log_spectral_distance_db(ref: np.ndarray, port: np.ndarray, sr: int) -> float:
    """Log-spectral distance in dB: RMS over bins of the dB-power difference, mean over frames.

    Powers are floored 80 dB below the reference's loudest bin so silence does not dominate.
    """
    pr, _ = power_spectrogram(ref, sr)
    pp, _ = power_spectrogram(port, sr)
    floor = max(float(pr.max()), EPS) * 1e-8
    diff = _log_power(pr, floor) - _log_power(pp, floor)
    return float(np.mean(np.sqrt(np.mean(diff ** 2, axis=1))))


def multi_resolution_stft_distance(ref: np.ndarray, port: np.ndarray, sr: int) -> float:
    """Multi-resolution STFT distance (dimensionless): mean over 3 resolutions of
    spectral convergence ``‖|P|-|R|‖_F / ‖|R|‖_F`` plus mean ``|log|R| - log|P||``.

    NaN when the reference is silent over the compared span.
    """
    total = 0.0
    for frame_s, hop_s in MRSTFT_RESOLUTIONS_S:
        mr = np.sqrt(power_spectrogram(ref, sr, frame_s, hop_s)[0])
        mp = np.sqrt(power_spectrogram(port, sr, frame_s, hop_s)[0])
        ref_norm = float(np.linalg.norm(mr))
        if ref_norm < 1e-6:  # a silent reference: relative distances mean nothing
            return float("nan")
        convergence = np.linalg.norm(mp - mr) / ref_norm
        log_mag = np.mean(np.abs(np.log(np.maximum(mr, 1e-7)) - np.log(np.maximum(mp, 1e-7))))
        total += float(convergence + log_mag)
    return total / len(MRSTFT_RESOLUTIONS_S)


def mel_cepstral_distortion_db(ref: np.ndarray, port: np.ndarray, sr: int,
                               n_mels: int = 40, n_ceps: int = 13) -> float:
    """Mel-cepstral distortion in dB over the reference's non-silent frames.

    Cepstra ``c_1..c_12`` are the cosine coefficients of the natural-log mel amplitude
    (``log|X| ≈ c0 + 2 Σ c_k cos(k ω)``, SPTK's scaling); c0 (level) is excluded;
    ``MCD = (10 / ln 10) · sqrt(2 Σ_k (c_k - ĉ_k)²)``, averaged over frames.
    """
    pr, _ = power_spectrogram(ref, sr)
    pp, _ = power_spectrogram(port, sr)
    bank = mel_filterbank(sr, 2 * (pr.shape[1] - 1), n_mels, fmax_hz=min(sr / 2, 8000.0))
    mr, mp = pr @ bank.T, pp @ bank.T
    floor = max(float(mr.max()), EPS) * 1e-8
    scale = 1.0 / (2.0 * n_mels)
    cr = scale * dct(0.5 * np.log(np.maximum(mr, floor)), type=2, axis=1)[:, 1:n_ceps]
    cp = scale * dct(0.5 * np.log(np.maximum(mp, floor)), type=2, axis=1)[:, 1:n_ceps]
    loud = mr.sum(axis=1) > mr.sum(axis=1).max() * 1e-4
    if not loud.any():
        return 0.0
    per_frame = np.sqrt(2.0 * np.sum((cr - cp) ** 2, axis=1))[loud]
    return float(10.0 / np.log(10.0) * np.mean(per_frame))


def pesq_wideband(ref: np.ndarray, port: np.ndarray, sr: int) -> tuple[float | None, str]:
    """Wide-band PESQ (MOS-LQO, 1.0-4.64) at 16 kHz, or (None, why not)."""
    try:
        from pesq import pesq
    except ImportError:
        return None, "not used: pesq not installed"
    try:
        return float(pesq(16000, resample(ref, sr, 16000), resample(port, sr, 16000), "wb")), ""
    except Exception as exc:  # noqa: BLE001 - pesq raises its own types for unscorable input
        return None, f"not scored: {type(exc).__name__}: {exc}"


def stoi_score(ref: np.ndarray, port: np.ndarray, sr: int) -> tuple[float | None, str]:
    """Short-time objective intelligibility (0..1), or (None, why not)."""
    try:
        from pystoi import stoi
    except ImportError:
        return None, "not used: pystoi not installed"
    try:
        return float(stoi(ref.astype(np.float64), port.astype(np.float64), sr)), ""
    except Exception as exc:  # noqa: BLE001 - pystoi fails on too-short or silent input
        return None, f"not scored: {type(exc).__name__}: {exc}"
