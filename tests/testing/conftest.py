"""The pytest helpers run on the demo's session-wide reference (``demo_files``, in the
top-level conftest) and its NumPy port."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def demo(demo_files):
    return demo_files
