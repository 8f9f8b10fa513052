"""Session fixtures for the tokens tests: real codec codes and real greedy generations."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from tokens_data import dac_codes, espeak_speech, generate, prompt, qwen3_lm


@pytest.fixture(scope="session")
def speech(tmp_path_factory) -> tuple[np.ndarray, int]:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    return espeak_speech(tmp_path_factory.mktemp("tokens_speech"))


@pytest.fixture(scope="session")
def codes(speech) -> np.ndarray:
    """Real DAC codes [1, 8, 512] of espeak-ng speech (codebook size 256)."""
    return dac_codes(*speech)


@pytest.fixture(scope="session")
def lm():
    return qwen3_lm()


@pytest.fixture(scope="session")
def greedy(lm) -> tuple[np.ndarray, np.ndarray]:
    """The reference: greedy ids [2, 40] and logits [2, 40, 512] for prompt seed 3."""
    return generate(lm, prompt(3), 40)


@pytest.fixture(scope="session")
def eos_id(greedy) -> tuple[int, int]:
    """``(eos, k)``: an id the reference's first row emits first at step k ≥ 10."""
    row = greedy[0][0]
    k = next(i for i in range(10, row.size) if row[i] not in row[:i])
    return int(row[k]), k


@pytest.fixture
def save(tmp_path):
    """``save(array, name) -> path`` of a .npy written for a CLI test."""

    def write(array: np.ndarray, name: str = "tokens.npy"):
        path = tmp_path / name
        np.save(path, array)
        return path

    return write
