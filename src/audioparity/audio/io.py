"""Reading audio files for analysis: any rate, any channel count, bounded memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from ..errors import InputError

MIN_SAMPLE_RATE_HZ = 1000
"""Below this a file is not audio we can analyse (a 1 Hz header is a writer bug)."""
MAX_ANALYSED_S = 300.0
"""Longer files are analysed on evenly spaced excerpts totalling this many seconds."""
EXCERPT_S = 10.0
"""Length of one excerpt of a long file, in seconds."""
BLOCK_FRAMES = 1 << 16


@dataclass
class AudioClip:
    """A decoded file, mixed to mono for analysis.

    Attributes
    ----------
    y : mono float32 samples (full scale 1.0) that were analysed; NaN/Inf replaced by 0.
    sr : sample rate in Hz.
    channels : channel count of the file.
    frames : frames in the file (per channel).
    duration_s : file duration in seconds (``frames / sr``).
    format, subtype : container and sample encoding as soundfile names them.
    nonfinite : count of NaN/Inf samples seen (before mixing).
    analysed_s : seconds of audio in ``y`` (less than ``duration_s`` for excerpted long files).
    excerpts : 1 for a whole file, else the number of excerpts concatenated in ``y``.
    notes : human-readable remarks (mono mix, excerpts).
    """

    path: str
    y: np.ndarray
    sr: int
    channels: int
    frames: int
    duration_s: float
    format: str
    subtype: str
    nonfinite: int = 0
    analysed_s: float = 0.0
    excerpts: int = 1
    notes: list[str] = field(default_factory=list)


def _mono(block: np.ndarray) -> tuple[np.ndarray, int, float]:
    """Mono mix of a ``(frames, channels)`` block, its count of non-finite samples, and the
    block's energy summed over channels (to notice channels that cancel in the mix)."""
    bad = ~np.isfinite(block)
    n_bad = int(bad.sum())
    if n_bad:
        block = np.where(bad, 0.0, block)
    energy = float(np.sum(np.square(block, dtype=np.float64)))
    return block.mean(axis=1, dtype=np.float64).astype(np.float32), n_bad, energy


def _open(path: Path) -> sf.SoundFile:
    if not path.exists():
        raise InputError(path, "no such file")
    if path.is_dir():
        raise InputError(path, "is a directory, expected an audio file")
    if path.stat().st_size == 0:
        raise InputError(path, "empty file (0 bytes), not audio")
    try:
        return sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        detail = str(exc).split(":")[-1].strip() or "unrecognised format"
        real = _what_it_is(path)
        raise InputError(path, "not readable as audio (WAV/FLAC/OGG): "
                               + (f"this is {real}" if real else detail)) from None


def _what_it_is(path: Path) -> str | None:
    """Words for a file that is not audio but something audioparity knows (a trace …)."""
    from ..trace.sniff import describe, sniff_format

    try:
        kind = sniff_format(path)
    except OSError:
        return None
    return None if kind in ("wav", "flac", "ogg", "mp3", "unknown", "empty") else describe(kind)


def load_audio(path: str | Path, max_analysed_s: float = MAX_ANALYSED_S,
               excerpts: bool = True) -> AudioClip:
    """Decode ``path`` (WAV/FLAC/OGG and anything libsndfile reads) to a mono mix.

    Files longer than ``max_analysed_s`` seconds are not loaded whole: ``EXCERPT_S``-second
    excerpts spread evenly over the file are read by seeking (``excerpts=False``: only the
    first ``max_analysed_s`` seconds), so memory stays bounded for a file of any length.

    Raises
    ------
    InputError : missing, empty, truncated or non-audio file, or a sample rate below 1 kHz.
    """
    p = Path(path)
    with _open(p) as f:
        sr, channels, frames = int(f.samplerate), int(f.channels), int(f.frames)
        if sr < MIN_SAMPLE_RATE_HZ:
            raise InputError(p, f"sample rate {sr} Hz is not an audio rate "
                                f"(need at least {MIN_SAMPLE_RATE_HZ} Hz)")
        clip = AudioClip(path=str(p), y=np.zeros(0, np.float32), sr=sr, channels=channels,
                         frames=frames, duration_s=frames / sr, format=f.format,
                         subtype=f.subtype)
        if channels > 1:
            clip.notes.append(f"{channels} channels mixed to mono for analysis")
        try:
            if frames <= max_analysed_s * sr or not excerpts:
                starts = [0]
                length = min(frames, int(max_analysed_s * sr))
                if length < frames:
                    clip.notes.append(f"long file: analysed the first {max_analysed_s:g} s "
                                      f"of {frames / sr:.0f} s")
            else:
                length = int(EXCERPT_S * sr)
                count = max(1, int(max_analysed_s // EXCERPT_S))
                starts = np.linspace(0, frames - length, count).astype(np.int64).tolist()
                clip.excerpts = count
                clip.notes.append(f"long file: analysed {count} excerpts of {EXCERPT_S:g} s "
                                  f"spread over {frames / sr:.0f} s")
            pieces, channel_energy = [], 0.0
            for start in starts:
                f.seek(start)
                remaining = length
                while remaining > 0:
                    block = f.read(min(BLOCK_FRAMES, remaining), dtype="float32",
                                   always_2d=True)
                    if len(block) == 0:
                        break
                    mono, bad, energy = _mono(block)
                    clip.nonfinite += bad
                    channel_energy += energy
                    pieces.append(mono)
                    remaining -= len(block)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise InputError(p, f"truncated or corrupt audio data: {exc}") from None
    clip.y = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    clip.analysed_s = len(clip.y) / sr
    mix_energy = float(np.sum(np.square(clip.y, dtype=np.float64))) * channels
    if channels > 1 and channel_energy > 0 and mix_energy < 0.01 * channel_energy:
        clip.notes.append("the channels cancel in the mono mix (anti-phase?): the mix is "
                          f"{10 * np.log10(max(mix_energy, 1e-30) / channel_energy):.0f} dB "
                          "below the channels")
    if len(clip.y) < min(frames, int(max_analysed_s * sr)) and clip.excerpts == 1:
        clip.notes.append(f"file declares {frames} frames but only {len(clip.y)} could be read")
    return clip
