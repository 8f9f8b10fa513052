"""The labelled calibration set for the audio verdict, generated from real sources.

Speech comes from Debian's ``espeak-ng`` (several voices, rates and languages); the rest is
synthesised: tones, melodies, white/pink/brown noise, silence, and speech damaged the ways a
port damages it (clipped, DC-shifted, phase-randomised: same spectrum envelope, no speech).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

SENTENCES = {
    "en": "The quick brown fox jumps over the lazy dog near the quiet river bank.",
    "en-us": "Please call Stella and ask her to bring these things with her from the store.",
    "de": "Der Zug nach Berlin fährt heute pünktlich um acht Uhr vom Hauptbahnhof ab.",
    "fr": "Le petit chat dort tranquillement sur le canapé pendant que la pluie tombe.",
    "es": "Mañana vamos a visitar a mis abuelos que viven cerca de la playa del norte.",
    "it": "Il treno per Roma parte alle nove dalla stazione centrale di Milano.",
    "en+f3": "She sells sea shells by the sea shore, and the shells are surely sea shells.",
    "nl": "De fiets staat achter het huis naast de groene deur van de schuur.",
}


@dataclass(frozen=True)
class Clip:
    name: str
    label: str  # expected verdict
    y: np.ndarray
    sr: int


def espeak(text: str, voice: str, rate: int, out: Path) -> tuple[np.ndarray, int]:
    """Synthesise ``text`` with espeak-ng to ``out`` and read it back (float32, its own rate)."""
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(out), text],
                   check=True, capture_output=True, timeout=60)
    y, sr = sf.read(str(out), dtype="float32")
    return y, sr


def _resample(y: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
    g = np.gcd(sr_from, sr_to)
    return resample_poly(y, sr_to // g, sr_from // g).astype(np.float32)


def _normalise(y: np.ndarray, peak: float) -> np.ndarray:
    return (y * (peak / np.max(np.abs(y)))).astype(np.float32)


def _coloured_noise(n: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Noise with power ∝ 1/f**exponent (0 white, 1 pink, 2 brown)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n)
    f[0] = f[1]
    return np.fft.irfft(spec / f ** (exponent / 2), n).astype(np.float32)


def phase_randomised(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Same magnitude spectrum as ``y`` with uniformly random phases (sounds like noise)."""
    spec = np.fft.rfft(y)
    phase = np.exp(2j * np.pi * rng.random(len(spec)))
    return np.fft.irfft(np.abs(spec) * phase, len(y)).astype(np.float32)


def _note(f0: float, dur: float, sr: int, harmonics: int = 6) -> np.ndarray:
    t = np.arange(int(dur * sr)) / sr
    tone = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, harmonics + 1)
               if f0 * k < sr / 2)
    env = np.minimum(1.0, t / 0.01) * np.exp(-2.0 * t)
    return (tone * env).astype(np.float32)


def melody(sr: int, notes_hz: list[float], note_s: float) -> np.ndarray:
    return np.concatenate([_note(f, note_s, sr) for f in notes_hz])


def speech_clips(workdir: Path) -> list[tuple[str, np.ndarray, int]]:
    """Real espeak-ng speech: 8 voices x 3 rates, as (name, y, sr)."""
    out = []
    rates = (120, 170, 220)
    for i, (voice, text) in enumerate(SENTENCES.items()):
        for j, rate in enumerate(rates):
            y, sr = espeak(text, voice, rate, workdir / f"{voice}_{rate}.wav")
            out.append((f"speech_{voice}_{rate}", _normalise(y, 0.3 + 0.1 * ((i + j) % 6)), sr))
    return out


def labelled_set(workdir: Path) -> list[Clip]:
    """At least 40 labelled clips: the verdict's calibration and acceptance set."""
    rng = np.random.default_rng(1234)
    speech = speech_clips(workdir)
    clips: list[Clip] = []
    rates = (16000, 22050, 24000, 44100, 48000)
    for k, (name, y, sr) in enumerate(speech):
        target = rates[k % len(rates)]
        clips.append(Clip(f"{name}@{target}", "speech", _resample(y, sr, target), target))
    for k, (name, y, sr) in enumerate(speech[::3]):
        clips.append(Clip(f"phase_randomised_{name}", "noise", phase_randomised(y, rng), sr))
    for k, (name, y, sr) in enumerate(speech[1::6]):
        shifted = (0.5 * y / np.max(np.abs(y)) + (0.15 + 0.1 * k)).astype(np.float32)
        clips.append(Clip(f"dc_shifted_{name}", "speech", shifted, sr))
    for k, (name, y, sr) in enumerate(speech[2::6]):
        gain = (6.0, 10.0, 4.0, 20.0)[k % 4]
        clips.append(Clip(f"clipped_{name}", "clipped",
                          np.clip(y / np.max(np.abs(y)) * gain, -1, 1).astype(np.float32), sr))
    name, y, sr = speech[4]
    clamped = np.clip(y / np.max(np.abs(y)) * 3, -0.8, 0.8).astype(np.float32)
    clips.append(Clip(f"clamped_0.8_{name}", "clipped", clamped, sr))
    for f0, sr in ((110, 16000), (440, 22050), (1000, 24000), (3000, 44100), (7000, 48000)):
        t = np.arange(3 * sr) / sr
        clips.append(Clip(f"sine_{f0}Hz@{sr}", "tone",
                          (0.5 * np.sin(2 * np.pi * f0 * t)).astype(np.float32), sr))
    t = np.arange(3 * 24000) / 24000
    square = 0.3 * np.sign(np.sin(2 * np.pi * 220 * t))
    clips.append(Clip("square_220Hz", "tone", square.astype(np.float32), 24000))
    for k, (sr, notes, dur) in enumerate((
            (22050, [262, 294, 330, 349, 392, 440, 494, 523] * 2, 0.3),
            (44100, [440, 392, 349, 330, 294, 262, 294, 330] * 2, 0.25),
            (24000, [196, 247, 294, 392, 294, 247] * 3, 0.2),
            (16000, [330, 330, 349, 392, 392, 349, 330, 294] * 2, 0.35))):
        clips.append(Clip(f"melody_{k}@{sr}", "music_or_tonal",
                          _normalise(melody(sr, notes, dur), 0.6), sr))
    for exponent, colour in ((0, "white"), (1, "pink"), (2, "brown")):
        for sr, level in ((16000, 0.1), (44100, 0.5)):
            noise = _coloured_noise(4 * sr, exponent, rng)
            clips.append(Clip(f"{colour}_noise@{sr}", "noise", _normalise(noise, level), sr))
    clips.append(Clip("digital_silence", "silence", np.zeros(3 * 24000, np.float32), 24000))
    dither = (rng.standard_normal(3 * 22050) * 10 ** (-90 / 20)).astype(np.float32)
    clips.append(Clip("dither_-90dBFS", "silence", dither, 22050))
    return clips


HELD_OUT_SENTENCES = {
    "pt": "O gato preto dorme tranquilo no sofá da sala enquanto chove lá fora.",
    "pl": "Dzisiaj rano pojechałem rowerem do pracy przez park miejski.",
    "sv": "Vi ska åka till landet i sommar och bada i sjön varje dag.",
    "en-gb-x-rp": "Would you like a cup of tea before the meeting starts this afternoon?",
    "en+m3": "Numbers one two three four five six seven eight nine ten.",
    "de+f2": "Können Sie mir bitte sagen, wie spät es jetzt ist?",
    "fi": "Huomenna sataa lunta koko päivän pohjoisessa.",
    "ru": "Сегодня хорошая погода и мы идём гулять в парк.",
}


def held_out_set(workdir: Path) -> list[Clip]:
    """38 clips never used to set a threshold: other voices, rates, tones and noises."""
    rng = np.random.default_rng(99)
    clips: list[Clip] = []
    for voice, text in HELD_OUT_SENTENCES.items():
        for rate in (140, 200):
            y, sr = espeak(text, voice, rate, workdir / f"held_{voice}_{rate}.wav")
            y = _normalise(y, 0.6)
            clips.append(Clip(f"{voice}_{rate}", "speech", y, sr))
            if rate == 140:
                clips.append(Clip(f"phase_randomised_{voice}", "noise",
                                  phase_randomised(y, rng), sr))
                clips.append(Clip(f"clipped_{voice}", "clipped",
                                  np.clip(3 * y, -1, 1).astype(np.float32), sr))
    t = np.arange(2 * 32000) / 32000
    for f0 in (60, 250, 5000):
        clips.append(Clip(f"sine_{f0}Hz", "tone",
                          (0.3 * np.sin(2 * np.pi * f0 * t)).astype(np.float32), 32000))
    for exponent in (0.5, 1.5):
        noise = _normalise(_coloured_noise(3 * 22050, exponent, rng), 0.3)
        clips.append(Clip(f"noise_1/f^{exponent}", "noise", noise, 22050))
    tune = melody(32000, [523, 587, 659, 698, 784, 880] * 2, 0.22)
    clips.append(Clip("melody", "music_or_tonal", _normalise(tune, 0.5), 32000))
    return clips
