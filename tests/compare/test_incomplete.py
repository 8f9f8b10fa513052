"""Incomplete is not parity: a port trace that stops before the reference's outputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from audioparity.compare import compare_traces
from audioparity.sources.torch_capture import capture
from audioparity.trace import write_trace


def _subset(tensors, keep):
    return {n: a for n, a in tensors.items() if keep(n)}


def test_port_that_stops_early_is_incomplete_not_parity(ref_path, ref_tensors, tmp_path):
    names = list(ref_tensors)
    stop = names.index("model.layers.1.mlp")
    port = write_trace(tmp_path / "p.safetensors",
                       {n: ref_tensors[n] for n in names[:stop + 1]})
    result = compare_traces(ref_path, port)
    assert result.status == "incomplete"
    assert result.incomplete.last_aligned == "model.layers.1.mlp"
    assert result.incomplete.following == len(names) - stop - 1
    assert result.headline.startswith("incomplete:")


def test_port_without_recorded_inputs_is_not_incomplete(qwen3_pair, tmp_path):
    """The reference records ``NAME:inN``; a port that records only outputs reaches the end."""
    tensors = _subset(qwen3_pair["tensors"], lambda n: ":in" not in n)
    port = write_trace(tmp_path / "p.safetensors", tensors)
    result = compare_traces(qwen3_pair["rich"], port)
    assert result.status == "parity" and result.incomplete is None
    assert result.unmatched_ref and all(":in" in n for n in result.unmatched_ref)


def test_divergence_before_the_stop_stays_divergent_with_a_note(ref_path, ref_tensors, tmp_path):
    names = list(ref_tensors)
    tensors = {n: ref_tensors[n] for n in names[:names.index("model.layers.2.mlp")]}
    tensors["model.layers.0.mlp"] = tensors["model.layers.0.mlp"] * 1.5
    port = write_trace(tmp_path / "p.safetensors", tensors)
    doc = compare_traces(ref_path, port).to_json()
    assert doc["status"] == "divergent"
    assert doc["first_divergence"]["name"] == "model.layers.0.mlp"
    assert doc["incomplete"]["last_aligned"] == names[names.index("model.layers.2.mlp") - 1]


class _Crashes(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Linear(8, 8)
        self.second = nn.Linear(8, 8)
        self.head = nn.Linear(8, 4)
        self.crash = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.second(torch.tanh(self.first(x)))
        if self.crash:
            raise RuntimeError("shape mismatch in head: [1, 6, 8] @ [4, 9]")
        return self.head(h)


def test_capture_of_a_crashing_port_reports_incomplete_first(tmp_path, cli):
    torch.manual_seed(0)
    model = _Crashes().eval()
    x = torch.randn(1, 6, 8)
    with torch.no_grad(), capture(model, tmp_path / "ref.safetensors"):
        model(x)
    model.crash = True
    with pytest.raises(RuntimeError), torch.no_grad(), \
            capture(model, tmp_path / "port.safetensors"):
        model(x)
    code, out, err = cli("compare", tmp_path / "ref.safetensors", tmp_path / "port.safetensors",
                         "--json", tmp_path / "r.json")
    assert code == 1, err
    first_line = out.strip().splitlines()[0]
    assert first_line.startswith("incomplete:") and "RuntimeError" in first_line
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["status"] == "incomplete"
    assert doc["incomplete"]["error"].startswith("RuntimeError: shape mismatch")
    assert doc["incomplete"]["last_aligned"] == "second"


def test_truncated_numpy_port_never_reads_as_parity_in_cli(ref_path, ref_tensors, tmp_path, cli):
    names = list(ref_tensors)[:10]
    port = write_trace(tmp_path / "p.safetensors",
                       {n: np.asarray(ref_tensors[n]) for n in names})
    code, out, _ = cli("compare", ref_path, port, "--json", "-")
    assert code == 1
    assert json.loads(out)["status"] == "incomplete"
