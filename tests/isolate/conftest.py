"""The reference models of the isolation tests, built and captured once per session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # dac_case, mini_tts

import dac_case
import mini_tts


@pytest.fixture(scope="session")
def dac_ref():
    return dac_case.reference()


@pytest.fixture(scope="session")
def dac_trace(dac_ref, tmp_path_factory) -> Path:
    """The DAC reference's trace, inputs recorded."""
    return dac_case.capture_reference(dac_ref, tmp_path_factory.mktemp("dac") / "ref.safetensors")


@pytest.fixture(scope="session")
def tts_ref():
    return mini_tts.reference()


@pytest.fixture(scope="session")
def tts_traces(tts_ref, tmp_path_factory) -> dict[str, Path]:
    """The four-component TTS's traces: ``preset`` (a stored voice) and ``clone`` (a voice
    from a reference mel, through the speaker encoder)."""
    d = tmp_path_factory.mktemp("tts")
    return {"preset": mini_tts.capture_reference(tts_ref, d / "preset.safetensors", False),
            "clone": mini_tts.capture_reference(tts_ref, d / "clone.safetensors", True)}
