"""Parity checks for a port's own test suite: three assertions and a pytest plugin.

A port with Python bindings (or one that writes traces) keeps its reference validation
tests in its own suite, one line each::

    from audioparity.testing import assert_audio_ok, assert_tokens_ok, assert_trace_parity

    def test_decoder_matches_reference():
        assert_trace_parity("ref.safetensors", port.trace(codes))

    def test_decoder_speaks():
        assert_audio_ok("out.wav", expect="speech")

    def test_codes_in_range():
        assert_tokens_ok(codes, codebook_size=2048, eos=2050)

Each raises ``AssertionError`` whose message says what is wrong (the first divergent layer
and its likely causes; the audio verdict and its reasons; the token problems) and returns
the full result object when the check passes. ``pytest --audioparity-report DIR`` (the
plugin in :mod:`.plugin`, registered through the ``pytest11`` entry point) writes the HTML
report of every failing :func:`assert_trace_parity` into ``DIR``.
"""

from __future__ import annotations

import importlib
from typing import Any

# Loaded on first use: pytest imports this package for its plugin in every session, and
# the audio verdict pulls in scipy.
_WHERE = {"assert_trace_parity": "traces", "TraceParityError": "traces",
          "failure_message": "traces", "assert_audio_ok": "audio",
          "assert_tokens_ok": "tokens", "report_dir": "reports", "set_report_dir": "reports"}

__all__ = ["TraceParityError", "assert_audio_ok", "assert_tokens_ok", "assert_trace_parity",
           "failure_message", "report_dir", "set_report_dir"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)


def __dir__() -> list[str]:
    return __all__
