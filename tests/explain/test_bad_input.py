"""Odd pairs never crash explain_pair: they come back as one ``unknown`` finding saying what
was seen; big pairs are subsampled deterministically and say so."""

from __future__ import annotations

import numpy as np
import pytest

from audioparity.explain import ExplainContext, Finding, explain_pair


@pytest.mark.parametrize(("ref", "port", "words"), [
    (np.zeros((0, 4), np.float32), np.zeros((0, 4), np.float32), "empty"),
    (np.arange(10), np.arange(10, dtype=np.float32), "integer vs float"),
    (np.array(1.5, np.float32), np.array(2.5, np.float32), "too few elements"),
    (np.ones(3), np.ones((4, 4)), "0-d or tiny"),
    (np.array(["a", "b", "c", "d"]), np.array(["a", "b", "c", "d"]), "not numeric"),
])
def test_odd_pairs_give_one_unknown_with_what_was_seen(ref, port, words):
    findings = explain_pair(ref, port)
    assert [f.cause for f in findings] == ["unknown"]
    assert words in findings[0].detail


def test_unrelated_sizes_are_unknown_naming_both_shapes():
    rng = np.random.default_rng(0)
    findings = explain_pair(rng.normal(size=(3, 7)), rng.normal(size=(5, 11)))
    assert findings[-1].cause == "unknown" and "[3, 7]" in findings[-1].detail


def test_equal_nan_positions_are_parity_and_new_nan_is_nonfinite():
    ref = np.random.default_rng(1).normal(size=(8, 8)).astype(np.float32)
    ref[2, 3] = np.nan
    assert explain_pair(ref, ref.copy()) == []
    port = ref.copy()
    port[5, 1] = np.inf
    assert explain_pair(ref, port)[0].cause == "nonfinite"


def test_a_failing_signature_does_not_crash_the_catalogue(monkeypatch):
    from audioparity.explain import registry

    def broken(ref, port, ctx):
        raise RuntimeError("boom")

    monkeypatch.delenv("AUDIOPARITY_DEBUG")
    monkeypatch.setitem(registry._REGISTRY, "scale", registry.Signature("scale", broken))
    ref = np.random.default_rng(2).normal(size=500)
    findings = explain_pair(ref, -ref)
    assert findings[0].cause == "sign"


def test_context_getter_errors_are_treated_as_not_recorded():
    def missing(name: str):
        raise KeyError(name)

    ref = np.random.default_rng(3).normal(size=(4, 32, 16))
    ctx = ExplainContext(name="m", get_ref=missing, get_port=missing, previous_ok=True)
    assert explain_pair(ref, ref * 2, ctx)[0].cause == "scale"


def test_big_pair_is_subsampled_deterministically_and_says_so():
    ref = np.random.default_rng(4).normal(size=(4, 1 << 18)).astype(np.float32)
    first = explain_pair(ref, ref / 1024)
    again = explain_pair(ref, ref / 1024)
    assert first[0].cause == "scale" and "subsample" in first[0].detail
    assert first[0].params["subsampled"] is True
    assert [f.to_json() for f in first] == [f.to_json() for f in again]


def test_finding_rejects_causes_outside_the_vocabulary():
    with pytest.raises(ValueError):
        Finding("bad_cause", 0.5, "x")
    f = Finding("scale", 1.7, "x", {"c": np.float32(0.5), "v": np.arange(2)})
    assert f.to_json() == {"cause": "scale", "confidence": 1.0, "detail": "x",
                           "params": {"c": 0.5, "v": [0, 1]}, "hint": ""}
