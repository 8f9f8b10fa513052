"""Ports the CLI tests name with ``--port tests/isolate/cli_ports.py:NAME``."""

from __future__ import annotations

import mini_tts

from audioparity.isolate import CallablePort


def cloning_bug():
    """The NumPy port of the four-component TTS with its speaker-encoder bug."""
    return mini_tts.NumpyMiniTTS(mini_tts.reference(), ("sum_pool",)).as_port()


def broken_factory():
    raise FileNotFoundError("weights/talker.safetensors not found")


def talker_raises():
    """Every component works except the talker, which raises on the reference's inputs."""
    numpy_port = mini_tts.NumpyMiniTTS(mini_tts.reference())

    def talker(ids, speaker):
        raise ValueError(f"expected speaker of shape (1, 32), got {tuple(speaker.shape)}")

    names = ("speaker_encoder", "code_predictor", "decoder")
    return CallablePort({**{n: getattr(numpy_port, n) for n in names}, "talker": talker})


def everything_raises():
    def fail(*args):
        raise RuntimeError("not implemented yet")

    return CallablePort({n: fail for n in ("speaker_encoder", "talker", "code_predictor",
                                           "decoder")})


def decoder_crashes():
    """The NumPy port whose decoder raises, alone and inside the port's own run."""
    port = mini_tts.NumpyMiniTTS(mini_tts.reference())

    def decoder(codes):
        raise IndexError("index 16 is out of bounds for axis 0 with size 16")

    port.decoder = decoder
    return port.as_port()
