"""Input numbering by signature: parameter index, *args, keyword-only, **kwargs, nanobind."""

from __future__ import annotations

import pytest

from audioparity.sources.signature import InputSlots, SlotCache


def _layer(hidden_states, attention_mask=None, position_ids=None, **kwargs):
    return hidden_states


def test_keyword_gets_its_parameter_index():
    slots = InputSlots.of(_layer)
    assert slots.indices(1, ["attention_mask", "position_ids"]) == [0, 1, 2]
    assert slots.indices(3, []) == [0, 1, 2]
    assert slots.indices(1, ["position_ids", "attention_mask"]) == [0, 2, 1]


def test_unnamed_keywords_follow_the_last_named_parameter_in_call_order():
    slots = InputSlots.of(_layer)
    assert slots.indices(1, ["scale", "position_ids", "shift"]) == [0, 3, 2, 4]


def test_bound_method_drops_self():
    class Module:
        def forward(self, x, mask=None):
            return x

    assert InputSlots.of(Module().forward).indices(0, ["x", "mask"]) == [0, 1]


def test_star_args_push_keyword_only_parameters_past_the_positionals():
    def f(x, *rest, scale=None, **kwargs):
        return x

    slots = InputSlots.of(f)
    assert slots.indices(3, ["scale", "other"]) == [0, 1, 2, 3, 4]
    assert slots.indices(1, ["scale"]) == [0, 1]


def test_positional_only_name_passed_as_keyword_is_an_extra():
    def f(x, /, y=None, **kwargs):
        return x

    assert InputSlots.of(f).indices(1, ["x", "y"]) == [0, 2, 1]


def test_nanobind_function_signature_is_read():
    mx = pytest.importorskip("mlx.core")
    slots = InputSlots.of(mx.fast.rms_norm)
    assert slots is not None and slots.params[:3] == ("x", "weight", "eps")
    assert slots.indices(1, ["weight", "eps"]) == [0, 1, 2]
    tanh = InputSlots.of(mx.tanh)
    assert tanh is not None and tanh.indices(1, []) == [0]


def test_no_signature_means_none_and_cache_computes_once():
    torch = pytest.importorskip("torch")
    assert InputSlots.of(torch.nn.functional.gelu) is None  # a C builtin without a signature
    cache = SlotCache()
    first = cache.get(int, _layer)
    assert cache.get(int, max) is first
