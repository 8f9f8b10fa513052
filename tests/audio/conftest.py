"""Fixtures for the audio tests: real espeak-ng speech and the labelled set, made once."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from audio_corpus import espeak, held_out_set, labelled_set

from audioparity.audio.spectral import resample

ACCURACY = pytest.StashKey[list]()


def pytest_configure(config):
    config.stash[ACCURACY] = []


def pytest_terminal_summary(terminalreporter, config):
    lines = config.stash.get(ACCURACY, [])
    if lines:
        terminalreporter.section("audio verdict accuracy (labelled set)")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def accuracy_log(pytestconfig) -> list:
    """Lines to print in the terminal summary."""
    return pytestconfig.stash[ACCURACY]


@pytest.fixture(scope="session")
def espeak_available() -> None:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (make espeak)")


@pytest.fixture(scope="session")
def labelled(tmp_path_factory, espeak_available):
    """The labelled calibration set (≥ 40 clips), generated once per session."""
    return labelled_set(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="session")
def held_out(tmp_path_factory, espeak_available):
    """Clips from other voices and sources, never used to set a threshold."""
    return held_out_set(tmp_path_factory.mktemp("held_out"))


@pytest.fixture(scope="session")
def speech_24k(tmp_path_factory, espeak_available) -> tuple[np.ndarray, int]:
    """About 4 s of espeak-ng English at 24 kHz, peak 0.5."""
    y, sr = espeak("The quick brown fox jumps over the lazy dog near the quiet river bank.",
                   "en", 160, tmp_path_factory.mktemp("speech") / "en.wav")
    y = resample(y, sr, 24000)
    return (0.5 * y / np.max(np.abs(y))).astype(np.float32), 24000
