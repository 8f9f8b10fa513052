"""A real codec (transformers ``DacModel``) ported with one bug early (encoder) and one late
(decoder): the isolated table names both, the end-to-end comparison only the first."""

from __future__ import annotations

import dac_case
import pytest
import torch

from audioparity.compare import compare_traces
from audioparity.isolate import isolate, patch
from audioparity.sources.torch_capture import capture

BOTH = ("snake_exp", "convt_shift")


@pytest.fixture(scope="module")
def two_bug_result(dac_ref, dac_trace):
    return isolate(dac_trace, dac_case.port(dac_ref, BOTH))


def test_isolated_table_names_both_bugs_and_the_victim_between(two_bug_result):
    verdicts = {r.name: r.verdict for r in two_bug_result.rows}
    assert [r.name for r in two_bug_result.rows] == ["encoder", "quantizer", "decoder"]
    assert verdicts == {"encoder": "bug", "quantizer": "victim", "decoder": "bug"}
    quantizer = two_bug_result.rows[1]
    assert quantizer.isolated.ok and not quantizer.end_to_end.ok
    assert "victim of encoder" in quantizer.note
    assert two_bug_result.status == "divergent"


def test_end_to_end_points_only_at_the_first_bug(two_bug_result, dac_ref, dac_trace, tmp_path):
    assert two_bug_result.first_end_to_end.name == "encoder"
    assert all(r.end_to_end.wrong for r in two_bug_result.rows)  # everything after it fails
    port_trace = tmp_path / "port.safetensors"
    port = dac_case.port(dac_ref, BOTH)
    with torch.no_grad(), capture(port, port_trace):
        port(dac_case.audio())
    plain = compare_traces(dac_trace, port_trace)
    assert plain.first_divergence.name.startswith("encoder.")
    from_trace = isolate(dac_trace, port, port_trace=port_trace, explain=False, narrow=False)
    assert [r.verdict for r in from_trace.rows] == ["bug", "victim", "bug"]
    assert from_trace.end_to_end_source.startswith("port trace")


@pytest.mark.parametrize("bug", BOTH)
def test_each_bug_is_narrowed_to_its_module_and_named(two_bug_result, bug):
    component, innermost, cause = dac_case.BUGS[bug]
    row = next(r for r in two_bug_result.rows if r.name == component)
    assert row.innermost == innermost
    assert row.causes[0].cause == cause
    assert row.inner_check.wrong


def test_one_bug_makes_everything_downstream_a_victim_and_patching_recovers(
        dac_ref, dac_trace):
    port = dac_case.port(dac_ref, ("snake_exp",))
    result = isolate(dac_trace, port, explain=False, narrow=False, patch="encoder")
    assert [r.name for r in result.bugs] == ["encoder"]
    assert [r.name for r in result.victims] == ["quantizer", "decoder"]
    fixed = result.patch
    assert [r.name for r in fixed.rows] == ["quantizer", "decoder", "output"]
    assert all(not r.before.ok for r in fixed.rows)
    assert fixed.recovered and all(r.after.ok for r in fixed.rows)
    assert "only culprit" in fixed.line


def test_patching_the_first_bug_names_the_second_downstream(dac_ref, dac_trace):
    fixed = patch(dac_trace, dac_case.port(dac_ref, BOTH), "encoder",
                  ["encoder", "quantizer", "decoder"])
    assert not fixed.recovered
    assert fixed.still_divergent == ["decoder", "output"]
    assert next(r for r in fixed.rows if r.name == "quantizer").after.ok
    assert "another bug downstream, first at decoder" in fixed.line


def test_a_correct_port_is_at_parity_alone_and_end_to_end(dac_ref, dac_trace):
    result = isolate(dac_trace, dac_case.port(dac_ref, ()))
    assert result.status == "parity"
    assert all(r.isolated.ok and r.end_to_end.ok for r in result.rows)
    assert result.rows[0].isolated.rel_l2 < 1e-5
