"""``--grid`` parsing: lists, inclusive decimal ranges, the product, and usage errors."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audioparity.errors import UsageError
from audioparity.sweep.grid import parse_axis, parse_grid, settings, typed


def test_list_keeps_order_and_strings():
    axis = parse_axis("sampler=euler, rk4 ,dpm++")
    assert axis.name == "sampler" and axis.values == ("euler", "rk4", "dpm++")


def test_range_includes_its_stop():
    assert parse_axis("steps=10:50:10").values == ("10", "20", "30", "40", "50")
    assert parse_axis("seed=0:3").values == ("0", "1", "2", "3")


def test_decimal_range_has_no_float_noise():
    assert parse_axis("cfg=1:2:0.1").values == tuple(f"{1 + i / 10:.1f}" for i in range(11))


def test_range_stops_before_an_overshooting_step():
    assert parse_axis("steps=10:45:10").values == ("10", "20", "30", "40")


@pytest.mark.parametrize("spec, problem", [
    ("cfg", "expected name="),
    ("1cfg=1", "not a placeholder name"),
    ("cfg-scale=1", "not a placeholder name"),
    ("out=1,2", "filled by the sweep"),
    ("cfg=", "empty value"),
    ("cfg=1,,3", "empty value"),
    ("cfg=1,3,1", "given twice"),
    ("steps=10:a", "must be numbers"),
    ("steps=10:5", "stop is below start"),
    ("steps=1:5:0", "step must be positive"),
    ("steps=1:5:-1", "step must be positive"),
    ("steps=0:1:0.00001", "at most"),
    ("steps=1:nan", "finite"),
])
def test_bad_axis_is_a_usage_error(spec, problem):
    with pytest.raises(UsageError, match=problem):
        parse_axis(spec)


def test_grid_needs_an_axis_and_distinct_names():
    with pytest.raises(UsageError, match="no --grid"):
        parse_grid([])
    with pytest.raises(UsageError, match="cfg given twice"):
        parse_grid(["cfg=1", "cfg=3"])
    with pytest.raises(UsageError, match="settings"):
        parse_grid(["a=1:200", "b=1:200"])


def test_product_varies_the_last_axis_fastest():
    grid = settings(parse_grid(["cfg=1,7", "steps=10,30"]))
    assert grid == [{"cfg": "1", "steps": "10"}, {"cfg": "1", "steps": "30"},
                    {"cfg": "7", "steps": "10"}, {"cfg": "7", "steps": "30"}]


def test_typed_values_for_json():
    assert typed("7") == 7 and typed("0.5") == 0.5 and typed("euler") == "euler"  # exact: parsed
    assert typed("nan") == "nan"  # JSON gets the string, not a NaN


names = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True).filter(lambda n: n != "out")
values = st.lists(st.from_regex(r"[a-z0-9.]{1,5}", fullmatch=True), min_size=1, max_size=4,
                  unique=True)


@given(st.dictionaries(names, values, min_size=1, max_size=3))
def test_product_is_every_combination_once(axes):
    specs = [f"{name}={','.join(vals)}" for name, vals in axes.items()]
    grid = settings(parse_grid(specs))
    assert len(grid) == math.prod(len(v) for v in axes.values())
    assert len({tuple(sorted(s.items())) for s in grid}) == len(grid)
    for name, vals in axes.items():
        assert {s[name] for s in grid} == set(vals)
