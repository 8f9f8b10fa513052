"""Shared parts of the reader fuzz tests: budget, byte mutations, the property checked.

Every reader gets the same property: any mutation or truncation of a valid file is either
read (every tensor, every byte touched) or refused with one
:class:`~audioparity.errors.InputError` line naming the file — never another exception,
never a changed input, and within :data:`DEADLINE` per case.

Budget: ``AUDIOPARITY_FUZZ_EXAMPLES`` cases per reader (default :data:`CI_EXAMPLES`, sized
so that all fuzz tests together stay under a minute on two cores). Set it to 10000 for
the full run; set ``AUDIOPARITY_FUZZ_SEED`` to vary the cases (CI runs are derandomized,
so a failure there reproduces).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import signal
import struct
import tempfile
import warnings
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st

from audioparity.errors import InputError

CI_EXAMPLES = 300  # all 21 fuzz tests: about 20 s on two idle cores
EXAMPLES = int(os.environ.get("AUDIOPARITY_FUZZ_EXAMPLES", CI_EXAMPLES))
#: The most one case may take (open, read every tensor): the issue's 5 s bound.
DEADLINE = timedelta(seconds=5)

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=DEADLINE,
    derandomize="AUDIOPARITY_FUZZ_SEED" not in os.environ,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.function_scoped_fixture],
)

#: Little-endian integers that break length and offset fields.
_INTERESTING_U64 = [0, 1, 7, 8, 255, 256, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32,
                    2 ** 62, 2 ** 63 - 1, 2 ** 64 - 1]
_INTERESTING_BYTES = [0x00, 0xFF, 0x7F, 0x80, ord("{"), ord("}"), ord("["), ord('"'),
                      ord(","), ord(":"), ord("-"), ord("9"), ord("\n"), ord("#")]


@st.composite
def mutated(draw, seed: bytes, hot: int = 256) -> bytes:
    """``seed`` with 1-4 mutations: bit flips, interesting bytes or integers, inserted or
    deleted runs, truncation. Positions favour the first ``hot`` bytes (headers)."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            data += draw(st.binary(min_size=1, max_size=16))
            continue
        pos = draw(st.one_of(st.integers(0, min(len(data), hot) - 1),
                             st.integers(0, len(data) - 1)))
        op = draw(st.sampled_from(["flip", "byte", "u64", "u32", "insert", "delete",
                                   "truncate", "duplicate"]))
        if op == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "byte":
            data[pos] = draw(st.one_of(st.sampled_from(_INTERESTING_BYTES),
                                       st.integers(0, 255)))
        elif op in ("u64", "u32"):
            fmt, width = ("<Q", 8) if op == "u64" else ("<I", 4)
            value = draw(st.sampled_from(_INTERESTING_U64)) % (1 << (8 * width))
            data[pos:pos + width] = struct.pack(fmt, value)
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=32))
        elif op == "delete":
            del data[pos:pos + draw(st.integers(1, 64))]
        elif op == "truncate":
            del data[pos:]
        else:
            length = draw(st.integers(1, 64))
            data[pos:pos] = data[pos:pos + length]
    return bytes(data)


#: A case still running after this long is a hang: it is stopped and fails (hypothesis's
#: deadline only judges a case once it has returned).
HANG_S = 20.0


class CaseHung(BaseException):
    """Raised into a reader that runs past :data:`HANG_S` (a BaseException, so no reader's
    ``except Exception`` can swallow it)."""


@contextlib.contextmanager
def hard_timeout(seconds: float):
    """Interrupt the block with :class:`CaseHung` after ``seconds`` (main thread, POSIX)."""
    def hung(signum, frame):
        raise CaseHung(f"case still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Workdir:
    """A fresh file name per case (no case reads a file an earlier case still maps)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="audioparity-fuzz-"))
        self._count = itertools.count()

    def path(self, name: str) -> Path:
        folder = self.root / str(next(self._count))
        folder.mkdir()
        return folder / name


def digest(path: Path) -> str:
    """SHA-256 of a file, or of every file under a directory (names included)."""
    h = hashlib.sha256()
    files = sorted(path.rglob("*")) if path.is_dir() else [path]
    for f in files:
        if f.is_file():
            h.update(str(f.relative_to(path) if path.is_dir() else f.name).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def read_or_refuse(path: Path, read: Callable[[Path], object]) -> str:
    """Run ``read(path)``: a success returns ``"read"``, an InputError ``"refused"``.

    Anything else propagates (the test fails). The refusal must be one line that names the
    file, and the input must be byte-for-byte unchanged either way.
    """
    before = digest(path)
    caught: list = []
    try:
        with hard_timeout(HANG_S), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            read(path)
        outcome = "read"
    except InputError as exc:
        text = str(exc)
        assert "\n" not in text, text
        named = Path(exc.path) if exc.path is not None else None
        assert named is not None and (named == path or path in named.parents), (named, path)
        outcome = "refused"
    # what the CLI would print on stderr besides its one line (Deprecation* stay hidden there)
    loud = [f"{w.category.__name__}: {w.message}" for w in caught
            if not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning))]
    assert not loud, loud
    assert digest(path) == before, f"{path} was modified"
    event(outcome)  # shown by --hypothesis-show-statistics
    return outcome
