"""A module called twice (``NAME``, ``NAME#1``) is isolated call by call; a bf16 reference
is judged with bf16 tolerances; keyword inputs keep their parameter."""

from __future__ import annotations

import pytest
import torch

from audioparity.errors import UsageError
from audioparity.isolate import isolate, patch
from audioparity.sources.torch_capture import capture


class Twice(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.block = torch.nn.Linear(6, 6)
        self.gate = Gate()

    def forward(self, x):
        return self.gate(self.block(self.block(x)), scale=x.abs().mean(-1, keepdim=True))


class Gate(torch.nn.Module):
    def forward(self, x, bias=None, scale=None):
        return torch.sigmoid(x) * (1.0 if scale is None else scale) + (0 if bias is None
                                                                         else bias)


@pytest.fixture(scope="module")
def twice_trace(tmp_path_factory):
    path = tmp_path_factory.mktemp("twice") / "ref.safetensors"
    model = Twice().eval()
    with torch.no_grad(), capture(model, path, inputs=True):
        model(torch.randn(3, 6, generator=torch.Generator().manual_seed(2)))
    return path, model


def test_each_call_is_isolated_on_its_own_inputs(twice_trace):
    path, model = twice_trace
    result = isolate(path, model, components=["block", "block#1", "gate"])
    assert [r.verdict for r in result.rows] == ["ok", "ok", "ok"]
    assert all(r.end_to_end is None for r in result.rows)
    assert any("first calls only" in n for n in result.notes)
    with pytest.raises(UsageError, match="block#1"):
        patch(path, model, "block", ["block", "block#1", "gate"])


def test_a_keyword_input_after_a_gap_goes_to_its_parameter(twice_trace):
    path, model = twice_trace
    # gate(x, scale=s) records in0 and in2; in1 (bias) keeps its default
    result = isolate(path, model, components=["gate"])
    assert result.rows[0].isolated.ok
    calls = []
    port = {"gate": lambda x, bias=None, scale=None: calls.append((bias, scale)) or
            torch.sigmoid(torch.from_numpy(x)) * torch.from_numpy(scale)}
    assert isolate(path, port, components=["gate"]).status == "parity"
    assert calls[0][0] is None and calls[0][1].shape == (3, 1)


def test_a_bf16_reference_is_judged_with_bf16_tolerance(tmp_path):
    model = Twice().eval()
    path = tmp_path / "bf16.safetensors"
    with torch.no_grad(), capture(model, path, inputs=True, dtype="bfloat16"):
        model(torch.randn(3, 6, generator=torch.Generator().manual_seed(2)))
    result = isolate(path, model, components=["block", "gate"])
    assert result.status == "parity"
    tol = result.rows[0].isolated.outputs[0].tol
    assert (tol.rtol, tol.source) == (4e-2, "bfloat16 default")


def test_a_generation_loop_trace_checks_the_first_step_by_default(tmp_path):
    model = Twice().eval()
    path = tmp_path / "steps.safetensors"
    with torch.no_grad(), capture(model, path, inputs=True, steps=True):
        x = torch.randn(3, 6, generator=torch.Generator().manual_seed(2))
        for _ in range(3):
            x = model(x)
    result = isolate(path, model)
    assert [r.name for r in result.rows] == ["@0/block", "@0/gate"]
    assert result.status == "parity"
    later = isolate(path, model, components=["@2/block#1"])
    assert later.rows[0].isolated.ok
