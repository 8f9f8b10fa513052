"""A 2-D weight whose layout breaks the file's majority is a problem, square ones included.

The demo reference (transformers Qwen3 + an ISTFT head) has square ``q_proj``/``o_proj``
[64, 64]: shapes cannot tell a transposed one, its values can. A converter that transposes
a tensor twice (the kernel_size=1 conv bug class) leaves one linear in [in, out] while every
other keeps [out, in].
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from audioparity.examples.reference import DemoConfig, build_reference
from audioparity.trace import write_trace
from audioparity.weights import audit_checkpoints, open_checkpoint

ODD = "lm.model.layers.1.self_attn.o_proj.weight"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("majority")
    state = {k: v.detach().numpy().copy() for k, v in
             build_reference(DemoConfig()).state_dict().items()}
    write_trace(root / "ref.safetensors", state)
    twice = dict(state)
    twice[ODD] = np.ascontiguousarray(state[ODD].T)
    write_trace(root / "twice.safetensors", twice)
    flax = {k: np.ascontiguousarray(v.T) if v.ndim == 2 and min(v.shape) > 1 else v
            for k, v in state.items()}  # a port that stores every matrix [in, out]
    write_trace(root / "flax.safetensors", flax)
    return root


def test_a_square_linear_transposed_twice_is_a_problem(files, cli):
    code, out, err = cli("weights", "audit", files / "ref.safetensors",
                         files / "twice.safetensors", "--json", files / "twice.json")
    assert code == 1, err
    report = json.loads((files / "twice.json").read_text())
    (problem,) = [p for p in report["problems"] if "2-D" in p]
    assert ODD in problem and "transposed twice" in problem and "square" in problem
    assert report["layout_summary"]["matrix_inconsistent"] == [ODD]
    assert report["layout_summary"]["matrix_convention"] == "reference"
    assert "breaks the file's 2-D convention" in out


def test_a_consistently_transposed_file_is_not_a_problem(files):
    report = audit_checkpoints(open_checkpoint(files / "ref.safetensors"),
                               open_checkpoint(files / "flax.safetensors"))
    assert not [p for p in report.problems if "2-D" in p], report.problems
    assert report.layout_summary["matrix_convention"] == "transposed"
    assert report.layout_summary["matrix_reference"] == 0


def test_fix_port_layout_transposes_the_odd_one_back(files, cli):
    fixed = files / "fixed.safetensors"
    code, _, err = cli("weights", "fix", files / "ref.safetensors",
                       files / "twice.safetensors", "--out", fixed, "--layout", "port")
    assert code == 0, err
    report = audit_checkpoints(open_checkpoint(files / "ref.safetensors"),
                               open_checkpoint(fixed))
    assert report.problems == []
    assert report.layout_summary["matrix_transposed"] == 0
