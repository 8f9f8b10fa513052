"""``assert_audio_ok``: what a port emits must sound like what it should (speech, by
default), judged by the audio verdict of :mod:`audioparity.audio.verdict`."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import numpy as np

from ..audio import VERDICTS, Verdict, classify, describe
from ..audio.verdict import GOOD_VERDICTS


def assert_audio_ok(wav_or_array: str | Path | np.ndarray, sr: int | None = None,
                    expect: str | Collection[str] | None = "speech", *,
                    duration_s: tuple[float, float] | None = None, strict: bool = False,
                    use_vad: bool = True) -> Verdict:
    """Assert that a clip's verdict is what the port should produce.

    Parameters
    ----------
    wav_or_array : a sound file (any format soundfile reads; long files are analysed on
        excerpts) or samples: 1-D mono, or 2-D ``[channels, samples]`` / ``[samples,
        channels]`` (mixed to mono), full scale 1.0. A torch CPU tensor works too.
    sr : sample rate in Hz; required for an array, ignored for a file.
    expect : the verdict wanted: ``"speech"`` (default), another name from
        :data:`~audioparity.audio.VERDICTS` or a collection of them; ``None`` or ``"any"``
        accepts any plausible output (speech or music/tonal: not noise, silence, clipping,
        NaN).
    duration_s : ``(min, max)`` seconds the clip must last, when given.
    strict : also fail on findings that do not change the verdict (DC offset, most energy
        above 4 kHz, peak over full scale).
    use_vad : ask Silero VAD for a second opinion on speech where it is installed.

    Returns
    -------
    Verdict
        The verdict (with its reasons and findings) when the assertion holds.

    Raises
    ------
    AssertionError
        With the verdict, why it was given, and the findings.
    ValueError
        An array without ``sr``, an unknown verdict in ``expect``.
    audioparity.errors.InputError
        A file that cannot be read as audio.
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not ours
    wanted = _wanted(expect)
    where, verdict, duration, rate = _judge(wav_or_array, sr, use_vad)
    problems = []
    if verdict.verdict not in wanted:
        problems.append(f"audio is {verdict.verdict}, expected {' or '.join(sorted(wanted))}")
    if duration_s is not None and not duration_s[0] <= duration <= duration_s[1]:
        problems.append(f"duration {duration:.3f} s outside {duration_s[0]:g}-"
                        f"{duration_s[1]:g} s")
    if strict and verdict.findings:
        problems.append(f"{len(verdict.findings)} finding(s) with strict=True")
    if problems:
        lines = [f"{'; '.join(problems)} ({where}, {duration:.2f} s at {rate} Hz)"]
        lines += [f"  {reason}" for reason in verdict.reasons]
        lines += [f"  finding: {f}" for f in verdict.findings]
        raise AssertionError("\n".join(lines))
    return verdict


def _wanted(expect: str | Collection[str] | None) -> set[str]:
    if expect is None or expect == "any":
        return set(GOOD_VERDICTS)
    wanted = {expect} if isinstance(expect, str) else set(expect)
    unknown = wanted - set(VERDICTS)
    if unknown or not wanted:
        raise ValueError(f"expect must be 'any' or verdicts from {VERDICTS}, got {expect!r}")
    return wanted


def _judge(value: str | Path | np.ndarray, sr: int | None,
           use_vad: bool) -> tuple[str, Verdict, float, int]:
    """(what was judged, verdict, duration in s, sample rate in Hz)."""
    if isinstance(value, (str, Path)):
        from ..audio import inspect_file

        found = inspect_file(value, use_vad=use_vad)
        return str(value), found.verdict, found.clip.duration_s, found.clip.sr
    if sr is None or sr <= 0:
        raise ValueError("assert_audio_ok needs sr (Hz, > 0) for an array of samples")
    y = _mono(np.asarray(value, dtype=np.float32))
    bad = ~np.isfinite(y)
    nonfinite = int(bad.sum())
    y = np.where(bad, np.float32(0), y)
    metrics = describe(y, sr)
    vad = None
    if use_vad and not nonfinite and metrics.duration_s > 0.05:
        from ..audio.vad import silero_opinion

        vad = silero_opinion(y, sr)
    shape = "x".join(str(s) for s in np.shape(value))
    return f"array [{shape}]", classify(metrics, vad, nonfinite), metrics.duration_s, sr


def _mono(y: np.ndarray) -> np.ndarray:
    y = np.squeeze(y)
    if y.ndim == 0:
        return y.reshape(1)
    if y.ndim == 2:  # the shorter axis holds the channels
        return y.mean(axis=int(np.argmin(y.shape)))
    if y.ndim > 2:
        raise ValueError(f"audio must be mono [samples] or [channels, samples], got "
                         f"shape {list(y.shape)}")
    return y
