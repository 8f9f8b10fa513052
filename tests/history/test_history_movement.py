"""Moves are measured against the previous run on the same reference; at equal position
parity is further than incomplete; a regression is the latest run moving earlier."""

from __future__ import annotations

from audioparity.history import Fingerprint, Run, moves, regressed


def _run(run_id: int, status: str, index: int | None, ref_hash: str = "r", pairs: int = 40):
    return Run("2026-01-01T00:00:00+00:00", None, Fingerprint("ref", 1, None, ref_hash),
               Fingerprint("port", 1, None, f"p{run_id}"), status,
               None if index is None else f"layers.{index}", index, None, None, None, pairs,
               0 if index is None else 1, 0, 0, id=run_id)


def test_moves_follow_the_reach_along_the_execution_order():
    runs = [_run(1, "divergent", 3), _run(2, "divergent", 12), _run(3, "divergent", 12),
            _run(4, "parity", None), _run(5, "divergent", 5)]
    got = [(m.direction, m.by, m.previous_id) for m in moves(runs)]
    assert got == [("first", None, None), ("later", 9, 1), ("same", 0, 2), ("later", 28, 3),
                   ("earlier", -35, 4)]
    assert regressed(runs) and not regressed(runs[:4])


def test_runs_on_another_reference_are_not_set_against_each_other():
    runs = [_run(1, "divergent", 10, "a"), _run(2, "divergent", 2, "b"),
            _run(3, "divergent", 11, "a"), _run(4, "divergent", 1, "b")]
    got = [(m.direction, m.previous_id) for m in moves(runs)]
    assert got == [("first", None), ("first", None), ("later", 1), ("earlier", 2)]


def test_parity_is_further_than_incomplete_at_the_same_reach():
    runs = [_run(1, "incomplete", None), _run(2, "parity", None), _run(3, "incomplete", None)]
    assert [m.direction for m in moves(runs)] == ["first", "later", "earlier"]
    assert [m.by for m in moves(runs)][1:] == [0, 0]  # exact: pair counts


def test_an_empty_history_has_no_regression():
    assert moves([]) == [] and not regressed([])
