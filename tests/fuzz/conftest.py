"""Fuzz-test plumbing: the helpers beside the tests are importable, and memory is capped.

While a fuzz module runs, the process may grow by at most :data:`MEMORY_HEADROOM` bytes of
private data (``RLIMIT_DATA``): a reader that allocates far beyond the few-kB file it was
given fails its case with MemoryError instead of taking the machine down.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

MEMORY_HEADROOM = 2 * 1024 ** 3


def _data_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    raise OSError("no VmData")


@pytest.fixture(autouse=True, scope="module")
def bounded_memory():
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
        limit = _data_bytes() + MEMORY_HEADROOM
    except (OSError, ValueError, AttributeError):
        yield  # not Linux: no cap
        return
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))
