"""The probes' pure parts: dependence and its verdicts, periodicity, probe token sets,
token layouts for a decoder, and the modules' doctested examples."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest

from audioparity.probe.decoders import from_bqt, mono
from audioparity.probe.dependence import dependence, judge
from audioparity.probe.periodicity import periodicity
from audioparity.probe.probe_tokens import PATTERN_FRAMES, out_of_range, probe_set


@pytest.mark.parametrize("module", ["audioparity.probe.dependence",
                                    "audioparity.probe.conditioning",
                                    "audioparity.probe.periodicity"])
def test_doctested_examples_hold(module):
    failures, tried = doctest.testmod(importlib.import_module(module))
    assert tried > 0 and failures == 0


def test_dependence_is_scale_free_and_symmetric():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4, 50)), rng.normal(size=(4, 50))
    assert dependence(a, b) == pytest.approx(dependence(1e3 * a, 1e3 * b))
    assert dependence(a, b) == pytest.approx(dependence(b, a))
    assert dependence(a, a + 1e-9) < 1e-5
    assert dependence(np.zeros(3), np.zeros(3)) == 0.0  # exact: both zero by construction
    with pytest.raises(ValueError, match="shapes differ"):
        dependence(a, b[:, :10])


@pytest.mark.parametrize("ref, port, verdict", [
    (0.0, 0.0, "independent"), (1.0, 0.9, "kept"), (1.0, 0.3, "weak"), (1.0, 0.0, "lost"),
    (0.0, 0.5, "appears"), (None, 0.5, "shape"), (1e-4, 1e-4, "independent"),
])
def test_judge(ref, port, verdict):
    assert judge(ref, port) == verdict


def test_periodicity_tells_a_repeating_signal_from_noise_and_silence():
    rng = np.random.default_rng(0)
    motif = rng.normal(size=32)
    assert periodicity(np.tile(motif, 100), 32) > 0.999
    assert periodicity(np.tile(motif, 100), 31) < 0.5
    assert abs(periodicity(rng.normal(size=3200), 32)) < 0.1
    assert np.isnan(periodicity(np.zeros(3200), 32))
    assert np.isnan(periodicity(np.ones(40), 32))  # shorter than two periods


def test_probe_set_shapes_ranges_and_periods():
    probes = {p.name: p for p in probe_set(3, 10, 32, reference=np.ones((2, 3, 10), int))}
    assert list(probes) == ["zeros", "constant", "pattern", "random", "reference"]
    for p in probes.values():
        assert p.tokens.shape == (1, 3, 10)  # exact: shapes
        assert out_of_range(p.tokens, 32) is None
    pattern = probes["pattern"].tokens
    assert (pattern[..., PATTERN_FRAMES:] == pattern[..., :-PATTERN_FRAMES]).all()  # exact
    assert (probes["constant"].tokens == 16).all()  # exact: ids


def test_out_of_range_names_the_codebook():
    tokens = np.zeros((1, 3, 5), np.int64)
    tokens[0, 2, 4] = 4100
    assert out_of_range(tokens, 4096) == ("ids out of range: codebook 2 holds 4100 (codebook "
                                          "size 4096: ids 0..4095)")


def test_tokens_reach_the_decoder_in_its_layout():
    tokens = np.arange(6).reshape(1, 2, 3)
    assert from_bqt(tokens, "BTQ").shape == (1, 3, 2)  # exact: shapes
    assert (from_bqt(tokens, "TQ") == tokens[0].T).all()  # exact: ids
    assert from_bqt(tokens[:, :1], "T").shape == (3,)  # exact: shapes
    assert mono(np.ones((1, 1, 7))).shape == (7,)  # exact: shapes
