"""Compare a port's audio with the reference's: align, name what differs, score what remains.

Order of work: bring the port to the reference's rate (by header, or by a detected
sample-rate mistake), align by cross-correlation (lag, polarity; a time-reversed port is
caught here), fit the gain, then measure the aligned, gain-corrected difference.
Causes use the project's vocabulary (``shift``, ``scale``, ``sign``, ``clipping``,
``reversed``, ``unknown``) plus ``sample_rate``: the port's samples sound right at another
rate than the one its header says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .align import (
    best_gain,
    detect_rate_mistake,
    estimate_lag,
    nearest_constant,
    overlap,
    padding_hints,
)
from .distances import (
    log_spectral_distance_db,
    mel_cepstral_distortion_db,
    multi_resolution_stft_distance,
    pesq_wideband,
    snr_db,
    stoi_score,
)
from .io import load_audio
from .metrics import clipped_fraction, flat_top_fraction
from .spectral import resample

GAIN_TOL = 0.01
"""A fitted gain further than this (relative) from 1 is a ``scale`` cause."""
MIN_CORRELATION = 0.3
"""Below this peak correlation the signals are unrelated and lag/gain are not meaningful."""
DURATION_TOL = 0.05
CLIP_EXCESS = 0.005
UNKNOWN_BELOW_SNR_DB = 10.0
LAG_WINDOW_S = 30.0
"""Lag and reversal are searched on the first this many seconds (lags up to ±30 s)."""
COMPARE_MAX_S = 120.0
#: below this (s) a lag/gain/rate fit has too few periods of speech to mean anything
MIN_ALIGN_S = 0.05
""":func:`compare_files` compares the first two minutes of each file (bounded memory)."""


@dataclass
class AudioComparison:
    """Result of :func:`compare_audio`; ``to_dict`` is the JSON shape."""

    ref_sr: int
    port_sr: int
    ref_duration_s: float
    port_duration_s: float
    lag_samples: int = 0
    lag_ms: float = 0.0
    correlation: float = 0.0
    polarity: int = 1
    gain: float = 1.0
    gain_db: float = 0.0
    reversed: bool = False
    duration_mismatch: bool = False
    rate_fix: dict | None = None
    scores: dict = field(default_factory=dict)
    causes: list[dict] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    aligned_ref: np.ndarray = field(default=None, repr=False)
    aligned_port: np.ndarray = field(default=None, repr=False)
    """The overlapping parts after rate fix, lag and gain correction (for figures)."""

    @property
    def duration_ratio(self) -> float:
        return self.port_duration_s / self.ref_duration_s if self.ref_duration_s else float("nan")

    @property
    def status(self) -> str:
        """``divergent`` when a cause is named or the durations differ, else ``parity``."""
        return "divergent" if self.causes or self.duration_mismatch else "parity"

    def to_dict(self) -> dict:
        return {"status": self.status, "ref_sr": self.ref_sr, "port_sr": self.port_sr,
                "ref_duration_s": self.ref_duration_s, "port_duration_s": self.port_duration_s,
                "duration_ratio": self.duration_ratio, "lag_samples": self.lag_samples,
                "lag_ms": self.lag_ms, "correlation": self.correlation,
                "polarity": self.polarity, "gain": self.gain, "gain_db": self.gain_db,
                "reversed": self.reversed, "duration_mismatch": self.duration_mismatch,
                "sample_rate_fix": self.rate_fix,
                "scores": self.scores, "causes": self.causes, "findings": self.findings}


def _cause(cause: str, confidence: float, detail: str, params: dict, hint: str) -> dict:
    return {"cause": cause, "confidence": round(confidence, 3), "detail": detail,
            "params": params, "hint": hint}


def _scores(ref: np.ndarray, port: np.ndarray, sr: int, gain: float, quality: bool) -> dict:
    corrected = port / gain if abs(gain) > 1e-9 else port
    scores: dict = {"compared_s": len(ref) / sr, "snr_db": snr_db(ref, port),
                    "snr_db_gain_corrected": snr_db(ref, corrected),
                    "log_spectral_distance_db": log_spectral_distance_db(ref, corrected, sr),
                    "mrstft_distance": multi_resolution_stft_distance(ref, corrected, sr),
                    "mel_cepstral_distortion_db": mel_cepstral_distortion_db(ref, corrected, sr)}
    if quality:
        scores["pesq_wb"], why_pesq = pesq_wideband(ref, corrected, sr)
        scores["stoi"], why_stoi = stoi_score(ref, corrected, sr)
        scores["notes"] = [w for w in (why_pesq and f"pesq {why_pesq}",
                                       why_stoi and f"stoi {why_stoi}") if w]
    return scores


def compare_audio(ref: np.ndarray, ref_sr: int, port: np.ndarray, port_sr: int,
                  quality: bool = True, ref_total_s: float | None = None,
                  port_total_s: float | None = None) -> AudioComparison:
    """Compare mono ``port`` audio (rate ``port_sr`` Hz) with mono ``ref`` (``ref_sr`` Hz).

    Parameters
    ----------
    quality : also score PESQ (wide-band) and STOI when those packages are installed.
    ref_total_s, port_total_s : full durations (s) when ``ref``/``port`` are only the first
        part of longer files; the duration check uses them.
    """
    ref = np.asarray(ref, dtype=np.float32)
    port = np.asarray(port, dtype=np.float32)
    out = AudioComparison(ref_sr=ref_sr, port_sr=port_sr,
                          ref_duration_s=len(ref) / ref_sr if ref_total_s is None else ref_total_s,
                          port_duration_s=(len(port) / port_sr if port_total_s is None
                                           else port_total_s))
    _compare_signals(out, ref, ref_sr, port, port_sr, quality)
    _check_duration(out)
    return out


def _check_duration(out: AudioComparison) -> None:
    """Flag durations that differ by more than ``DURATION_TOL`` — whatever else was found
    (a 4 ms port against a 4 s reference is a mismatch even when nothing else aligns)."""
    ref_s = out.ref_duration_s
    # a port written at the wrong rate lasts as long as its content rate says
    port_s = out.port_duration_s * (out.port_sr / out.rate_fix["content_hz"]
                                    if out.rate_fix else 1.0)
    if ref_s == 0 or port_s == 0:
        out.duration_mismatch = ref_s != port_s
        return
    ratio = port_s / ref_s
    if abs(ratio - 1.0) > DURATION_TOL:
        out.duration_mismatch = True
        out.findings.append(f"port lasts {ratio:.3g}× the reference ({port_s:.3f} s vs "
                            f"{ref_s:.3f} s)"
                            + (" (no EOS? a generation that never stops runs long)" if ratio > 1.5 else ""))


def _compare_signals(out: AudioComparison, ref: np.ndarray, ref_sr: int, port: np.ndarray,
                     port_sr: int, quality: bool) -> AudioComparison:
    """Fill ``out`` with rate, direction, lag, gain, polarity, clipping and scores."""
    if len(ref) == 0 or len(port) == 0:
        out.causes.append(_cause("unknown", 1.0, "one side has no samples", {},
                                 "check the port writes its audio at all"))
        return out
    shortest_s = min(len(ref) / ref_sr, len(port) / port_sr)
    if shortest_s < MIN_ALIGN_S:
        out.findings.append(f"{'port' if len(port) / port_sr == shortest_s else 'reference'} "
                            f"holds only {1000 * shortest_s:.1f} ms: too short to align, "
                            "only durations compared")
        return out
    fix = detect_rate_mistake(ref, ref_sr, port, port_sr)
    if fix is not None:
        out.rate_fix = {"written_hz": fix.written_hz, "content_hz": fix.content_hz}
        out.causes.append(_cause(
            "sample_rate", min(1.0, fix.correlation_after),
            f"port header says {fix.written_hz} Hz but its samples line up with the reference "
            f"at {fix.content_hz} Hz (correlation {fix.correlation_before:.2f} → "
            f"{fix.correlation_after:.2f})",
            {"written_hz": fix.written_hz, "content_hz": fix.content_hz},
            f"write the file at the model's rate {fix.content_hz} Hz (or resample before "
            "writing)"))
        aligned_port = resample(port, fix.content_hz, ref_sr)
    else:
        if port_sr != ref_sr:
            out.findings.append(f"port written at {port_sr} Hz, reference at {ref_sr} Hz: "
                                "compared after resampling the port")
        aligned_port = resample(port, port_sr, ref_sr)
    window = int(LAG_WINDOW_S * ref_sr)
    forward = estimate_lag(ref[:window], aligned_port[:window])
    backward = estimate_lag(ref[:window], aligned_port[::-1][:window].copy())
    if abs(backward.correlation) > max(MIN_CORRELATION, abs(forward.correlation) + 0.2):
        out.reversed = True
        aligned_port = aligned_port[::-1].copy()
        out.causes.append(_cause(
            "reversed", abs(backward.correlation),
            f"port matches the reference played backwards (correlation "
            f"{abs(backward.correlation):.2f} vs {abs(forward.correlation):.2f} forwards)",
            {"axis": "time"}, "an axis flip ([::-1] / flip) on the time axis"))
        forward = backward
    out.correlation = forward.correlation
    if abs(forward.correlation) < MIN_CORRELATION:
        r, p = overlap(ref, aligned_port, 0)
        out.aligned_ref, out.aligned_port = r, p
        out.scores = _scores(r, p, ref_sr, 1.0, quality)
        out.causes.append(_cause(
            "unknown", 1.0 - abs(forward.correlation),
            f"port does not resemble the reference (peak correlation {forward.correlation:.2f}"
            f", SNR {out.scores['snr_db']:.1f} dB): no lag, gain or rate explains it",
            {"correlation": forward.correlation},
            "inspect the port's audio (audioparity audio inspect) and compare traces"))
        return out
    out.lag_samples = forward.samples
    out.lag_ms = 1000.0 * forward.samples / ref_sr
    r, p = overlap(ref, aligned_port, forward.samples)
    gain = best_gain(r, p)
    out.aligned_ref, out.aligned_port = r, (p / gain if abs(gain) > 1e-9 else p)
    out.polarity = 1 if gain >= 0 else -1
    out.gain = abs(gain)
    out.gain_db = 20 * np.log10(out.gain) if out.gain > 0 else float("-inf")
    out.scores = _scores(r, p, ref_sr, gain, quality)
    if out.lag_samples != 0:
        hints = padding_hints(out.lag_samples)
        out.causes.append(_cause(
            "shift", abs(forward.correlation),
            f"port is {'late' if out.lag_samples > 0 else 'early'} by {abs(out.lag_samples)} "
            f"samples ({out.lag_ms:+.2f} ms)",
            {"axis": "time", "k": out.lag_samples, "ms": out.lag_ms},
            "; ".join(hints) if hints else "padding/trim differs (STFT centre, causal conv "
                                           "trim, leading silence)"))
    if out.polarity < 0:
        out.causes.append(_cause("sign", abs(forward.correlation),
                                 "port = -ref (polarity inverted)",
                                 {}, "a sign flip: subtraction order, a negated weight or "
                                     "an inverse FFT convention"))
    if abs(out.gain - 1.0) > GAIN_TOL:
        known = nearest_constant(out.gain)
        out.causes.append(_cause(
            "scale", min(1.0, abs(forward.correlation)),
            f"port = {out.gain:.4g} × ref ({out.gain_db:+.2f} dB)"
            + (f", ≈ {known}" if known else ""),
            {"c": out.gain, "db": out.gain_db, "nearest": known},
            "a normalisation differs" + (f": {known}" if known else "")
            + " (an ISTFT 1/n_fft normalisation is the usual one)"))
    ref_clip = max(clipped_fraction(r), flat_top_fraction(r))
    port_clip = max(clipped_fraction(p), flat_top_fraction(p))
    if port_clip >= CLIP_EXCESS and port_clip > 2 * ref_clip:
        out.causes.append(_cause(
            "clipping", min(1.0, port_clip * 20),
            f"{port_clip:.1%} of port samples clipped or stuck at the peak vs "
            f"{ref_clip:.1%} in the reference", {"port_fraction": port_clip,
                                                 "ref_fraction": ref_clip},
            "the port saturates: normalise before writing, check a clamp/tanh, lower CFG "
            "(a missing output normalisation, a high CFG scale)"))
    if not out.causes and out.scores["snr_db_gain_corrected"] < UNKNOWN_BELOW_SNR_DB:
        out.causes.append(_cause(
            "unknown", 0.5,
            f"aligned and gain-corrected, SNR is only "
            f"{out.scores['snr_db_gain_corrected']:.1f} dB "
            f"(log-spectral distance {out.scores['log_spectral_distance_db']:.1f} dB)",
            {"snr_db": out.scores["snr_db_gain_corrected"]},
            "the waveform differs beyond lag/gain: compare the traces to find the layer"))
    return out


def compare_files(ref_path: str | Path, port_path: str | Path,
                  quality: bool = True) -> AudioComparison:
    """Read two audio files (mono mix, first ``COMPARE_MAX_S`` seconds) and compare them.

    NaN/Inf samples are zeroed for the comparison and reported as a ``nonfinite`` cause.
    """
    ref = load_audio(ref_path, max_analysed_s=COMPARE_MAX_S, excerpts=False)
    port = load_audio(port_path, max_analysed_s=COMPARE_MAX_S, excerpts=False)
    out = compare_audio(ref.y, ref.sr, port.y, port.sr, quality=quality,
                        ref_total_s=ref.duration_s, port_total_s=port.duration_s)
    out.findings[:0] = [f"{side}: {note}" for side, clip in (("ref", ref), ("port", port))
                        for note in clip.notes]
    for side, clip in (("port", port), ("ref", ref)):
        if clip.nonfinite:
            out.causes.insert(0, _cause(
                "nonfinite", 1.0, f"{side} has {clip.nonfinite} NaN/Inf samples (zeroed here)",
                {"side": side, "count": clip.nonfinite},
                "find the first layer that emits NaN/Inf (audioparity compare on traces)"))
    return out
