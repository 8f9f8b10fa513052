"""Every zoo case: the first divergence is the bugged layer and the top cause is the bug."""

from __future__ import annotations

import pytest
from zoo_cases import CASES, run_case


def _param(case):
    marks = [pytest.mark.slow] if case.slow else []
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_zoo_case_is_found_and_named(case, tmp_path):
    missing = case.missing()
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (see docs/zoo.md)")
    outcome = run_case(case, tmp_path)
    assert outcome.status == (case.status or ("parity" if case.where is None else "divergent"))
    assert outcome.where == case.where
    assert outcome.problems() == []
