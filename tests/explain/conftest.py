"""Signatures re-raise their own errors in these tests (the engine swallows them otherwise)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _strict_signatures(monkeypatch):
    monkeypatch.setenv("AUDIOPARITY_DEBUG", "1")
