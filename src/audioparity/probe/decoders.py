"""Decoders a probe can drive: a Python callable, or a command that reads a tokens file and
writes a WAV. Each call gives audio or says why it gave none (timeout, crash, no file) —
never raises for the decoder's own failure.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shlex
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..errors import InputError, UsageError
from ..tokens.layout import LAYOUTS

#: seconds a command may run for one probe
DEFAULT_TIMEOUT_S = 60.0
_STDERR_TAIL = 200


@dataclass
class Decoded:
    """What one decode gave: mono ``audio`` (float32) at ``sr`` Hz, or ``failure`` words."""

    audio: np.ndarray | None = None
    sr: int | None = None
    failure: str | None = None


class Decoder(Protocol):
    """Decodes ``[B, Q, T]`` int64 tokens; :attr:`label` names it in reports."""

    label: str

    def decode(self, tokens: np.ndarray) -> Decoded: ...


def from_bqt(tokens: np.ndarray, layout: str) -> np.ndarray:
    """``[B, Q, T]`` tokens in ``layout`` (``BQT``, ``BTQ``, ``QT``, ``TQ``, ``BT``, ``T``)."""
    b, q, _ = tokens.shape
    if layout == "BQT":
        return tokens
    if layout == "BTQ":
        return tokens.transpose(0, 2, 1)
    if layout in ("QT", "TQ") and b == 1:
        return tokens[0] if layout == "QT" else tokens[0].T
    if layout in ("T", "BT") and q == 1:
        return tokens[0, 0] if layout == "T" else tokens[:, 0]
    raise UsageError(f"tokens of {b} sequence(s) × {q} codebook(s) cannot be written as "
                     f"{layout}")


def _check_layout(layout: str) -> str:
    known = [name for names in LAYOUTS.values() for name in names]
    if layout not in known:
        raise UsageError(f"--layout must be one of {', '.join(known)} (got {layout!r})")
    return layout


def mono(audio: Any) -> np.ndarray:
    """The first sequence of a decoder's output as 1-D float32: ``[N]``, ``[B, N]`` or
    ``[B, 1, N]`` (torch and MLX values are converted)."""
    if hasattr(audio, "detach"):
        audio = audio.detach().float().cpu().numpy()
    y = np.asarray(audio, dtype=np.float32)
    while y.ndim > 1:
        y = y[0]
    return y


class CallableDecoder:
    """``fn(tokens)`` → audio, or ``(audio, sr)``; tokens passed in ``layout``."""

    def __init__(self, fn: Callable[[np.ndarray], Any], sample_rate: int | None = None,
                 layout: str = "BQT", label: str | None = None):
        self.fn, self.sample_rate = fn, sample_rate
        self.layout = _check_layout(layout)
        self.label = label or getattr(fn, "__qualname__", repr(fn))

    def decode(self, tokens: np.ndarray) -> Decoded:
        try:
            out = self.fn(from_bqt(tokens, self.layout))
        except Exception as exc:  # noqa: BLE001 - the decoder's failure is a finding
            first = (str(exc).strip().splitlines() or [""])[0][:_STDERR_TAIL]
            return Decoded(failure=f"raised {type(exc).__name__}: {first}")
        sr = self.sample_rate
        if isinstance(out, tuple) and len(out) == 2 and np.isscalar(out[1]):
            out, sr = out[0], int(out[1])
        if sr is None:
            raise UsageError(f"{self.label} returned audio without a sample rate: return "
                             "(audio, sr) or give --sample-rate")
        return Decoded(mono(out), int(sr))


def load_callable(spec: str) -> Callable[..., Any]:
    """``package.module:function`` or ``path/to/file.py:function`` → the function."""
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"a decoder callable is MODULE:FUNCTION or FILE.py:FUNCTION "
                         f"(got {spec!r})")
    try:
        if module_name.endswith(".py"):
            path = Path(module_name)
            if not path.is_file():
                raise InputError(path, "no such file")
            loaded = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(loaded)
            sys.modules.setdefault(path.stem, module)
            loaded.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - any import failure is bad input
        raise InputError(module_name, f"cannot import: {type(exc).__name__}: "
                                      f"{(str(exc).splitlines() or [''])[0]}") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise InputError(module_name, f"has no function {attr!r}")
    return fn


class CommandDecoder:
    """A command line with ``{tokens}`` (an ``.npy`` the probe writes) and ``{wav}`` (the
    WAV it must write), run without a shell, at most ``timeout_s`` seconds per probe."""

    def __init__(self, template: str, timeout_s: float = DEFAULT_TIMEOUT_S,
                 layout: str = "BQT", label: str | None = None):
        try:
            self.argv = shlex.split(template)
        except ValueError as exc:
            raise UsageError(f"cannot parse the command {template!r}: {exc}") from None
        for slot in ("{tokens}", "{wav}"):
            if not any(slot in arg for arg in self.argv):
                raise UsageError(f"the command must contain {slot} (got {template!r})")
        self.timeout_s, self.layout = timeout_s, _check_layout(layout)
        self.label = label or template

    def decode(self, tokens: np.ndarray) -> Decoded:
        from ..audio.io import load_audio

        with tempfile.TemporaryDirectory(prefix="audioparity-probe-") as tmp:
            tokens_path, wav_path = Path(tmp) / "tokens.npy", Path(tmp) / "out.wav"
            np.save(tokens_path, from_bqt(tokens, self.layout))
            argv = [a.replace("{tokens}", str(tokens_path)).replace("{wav}", str(wav_path))
                    for a in self.argv]
            failure = self._run(argv)
            if failure:
                return Decoded(failure=failure)
            if not wav_path.exists():
                return Decoded(failure="exited 0 but wrote no WAV at {wav}")
            try:
                clip = load_audio(wav_path, excerpts=False)
            except InputError as exc:
                return Decoded(failure=f"wrote an unreadable WAV: {exc.problem}")
            return Decoded(clip.y, clip.sr)

    def _run(self, argv: list[str]) -> str | None:
        """Run ``argv``; words for a timeout or a non-zero exit, None on success."""
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, start_new_session=True)
        except OSError as exc:
            raise InputError(argv[0], f"the decoder command cannot start: "
                                      f"{exc.strerror or exc}") from None
        try:
            _, err = proc.communicate(timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            return f"timed out after {self.timeout_s:g} s (killed)"
        if proc.returncode != 0:
            lines = err.decode("utf-8", "replace").strip().splitlines()
            last = f": {lines[-1][:_STDERR_TAIL]}" if lines else ""
            how = (f"killed by signal {-proc.returncode}" if proc.returncode < 0
                   else f"exit {proc.returncode}")
            return f"crashed ({how}){last}"
        return None


def _kill_group(proc: subprocess.Popen) -> None:
    """End the command and the processes it started (its own session, started here)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate()
