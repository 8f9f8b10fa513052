"""The registry covers SPEC's whole vocabulary, one documented module per cause, and every
module's example runs."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

from audioparity.explain import CAUSES, signatures

DOCS = Path(__file__).parents[2] / "docs" / "causes.md"


def test_every_cause_has_one_registered_signature():
    assert [s.cause for s in signatures()] == list(CAUSES)


@pytest.mark.parametrize("cause", CAUSES)
def test_signature_module_documents_itself_with_a_running_example(cause):
    module = importlib.import_module(f"audioparity.explain.{cause}")
    doc = module.__doc__ or ""
    assert doc.startswith(f"``{cause}``") and ">>>" in doc
    failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert tried > 0 and failures == 0
    assert f"`{cause}`" in DOCS.read_text()


def test_engine_example_runs():
    module = importlib.import_module("audioparity.explain.engine")
    failures, tried = doctest.testmod(module)
    assert tried > 0 and failures == 0
