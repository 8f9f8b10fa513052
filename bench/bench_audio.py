"""Speed of ``audio inspect`` and ``audio compare`` as × real time on a 60 s speech clip.

Builds 60 s of espeak-ng speech (several voices) at 24 kHz, then times, side by side in one
run: the metrics and verdict, Silero VAD, a whole ``inspect_file`` (read + metrics + VAD),
``compare_audio`` without and with PESQ/STOI, and reading a 20-minute file in excerpts
(time and peak allocation). Prints seconds and × real time (60 s / seconds).

Run: ``.venv/bin/python bench/bench_audio.py``
"""

from __future__ import annotations

import subprocess
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import psutil
import soundfile as sf

from audioparity.audio import classify, compare_audio, describe, inspect_file, load_audio
from audioparity.audio.spectral import resample
from audioparity.audio.vad import silero_opinion

SR = 24000
CLIP_S = 60.0
VOICES = ("en", "de", "fr", "es", "en-us", "it")
TEXT = ("Before anyone opens a trace, they listen to the audio and describe what they hear, "
        "and then they start comparing numbers layer by layer until the port sounds right.")


def speech_clip(workdir: Path) -> np.ndarray:
    pieces, total = [], 0
    while total < CLIP_S * SR:
        voice = VOICES[len(pieces) % len(VOICES)]
        out = workdir / f"{len(pieces)}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(out), TEXT], check=True)
        y, sr = sf.read(out, dtype="float32")
        pieces.append(resample(y, sr, SR))
        total += len(pieces[-1])
    y = np.concatenate(pieces)[: int(CLIP_S * SR)]
    return (0.5 * y / np.max(np.abs(y))).astype(np.float32)


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        y = speech_clip(work)
        wav = work / "clip.wav"
        sf.write(wav, y, SR, subtype="PCM_16")
        port = -0.5 * np.concatenate([np.zeros(256, np.float32), y])[: len(y)]
        silero_opinion(y[:SR], SR)  # load the model outside the timings
        rows = [
            ("metrics + verdict (no VAD)", timed(lambda: classify(describe(y, SR)))),
            ("Silero VAD", timed(lambda: silero_opinion(y, SR))),
            ("inspect_file (read + metrics + VAD)", timed(lambda: inspect_file(wav))),
            ("compare (no PESQ/STOI)", timed(lambda: compare_audio(y, SR, port, SR,
                                                                   quality=False))),
            ("compare (with PESQ-WB + STOI)", timed(lambda: compare_audio(y, SR, port, SR),
                                                    repeat=1)),
        ]
        print(f"60 s of espeak-ng speech at {SR} Hz, {psutil.cpu_count()} CPUs")
        print(f"{'step':40s} {'seconds':>8s} {'x real time':>12s}")
        for name, seconds in rows:
            print(f"{name:40s} {seconds:8.3f} {CLIP_S / seconds:11.1f}x")

        long_wav = work / "long.wav"
        rng = np.random.default_rng(0)
        with sf.SoundFile(long_wav, "w", 16000, 1, subtype="PCM_16") as f:
            for _ in range(20):
                f.write(0.1 * rng.standard_normal(16000 * 60))
        tracemalloc.start()
        start = time.perf_counter()
        clip = load_audio(long_wav, max_analysed_s=120)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        size = long_wav.stat().st_size / 2**20
        print(f"20-minute 16 kHz file ({size:.0f} MiB): read {clip.excerpts} excerpts "
              f"({clip.analysed_s:.0f} s) in {seconds:.3f} s, peak allocation {peak:.1f} MiB "
              f"(whole file as float32: {1200 * 16000 * 4 / 2**20:.0f} MiB)")


if __name__ == "__main__":
    main()
