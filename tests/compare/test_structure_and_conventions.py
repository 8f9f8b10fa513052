"""Children renumbered inside a parent, MLX ``Sequential`` names and channels-last
activations: real PyTorch and MLX conv stacks with the same weights."""

from __future__ import annotations

import numpy as np
import pytest
from condnet import PortNet, capture_torch, mlx_port_trace, reference

from audioparity.compare import compare_traces
from audioparity.trace import open_trace, write_trace


def _without_meta(path, out):
    trace = open_trace(path)
    return write_trace(out, {n: np.array(trace.read(n)) for n in trace.names})


@pytest.fixture
def ref_trace(tmp_path):
    model, x = reference()
    return model, x, capture_torch(model, x, tmp_path / "ref.safetensors")


@pytest.mark.parametrize("meta", [True, False])
def test_functional_elu_port_pairs_renumbered_children(ref_trace, tmp_path, meta):
    """Port ``condnet.1`` is the second conv: it pairs with reference ``condnet.2`` (the
    exact name ``condnet.1`` is the ELU), with or without the recorded module classes."""
    model, x, ref = ref_trace
    port = capture_torch(PortNet(model), x, tmp_path / "port.safetensors")
    if not meta:
        port = _without_meta(port, tmp_path / "bare.safetensors")
    result = compare_traces(ref, port)
    assert result.status == "parity", [(e.name, e.port_name) for e in result.failing]
    pairs = {e.port_name: (e.ref_name, e.method) for e in result.entries}
    assert pairs["condnet.1"] == ("condnet.2", "structure")
    assert pairs["condnet.2"] == ("condnet.4", "structure")
    assert "condnet.1" in result.unmatched_ref  # the ELU module has no port counterpart


def test_bug_in_renumbered_child_is_found_there(ref_trace, tmp_path):
    model, x, ref = ref_trace
    port = capture_torch(PortNet(model, bug_scale=1.3), x, tmp_path / "port.safetensors")
    result = compare_traces(ref, port)
    assert result.status == "divergent"
    assert result.first_divergence.name == "condnet.2"
    assert result.first_divergence.entry.port_name == "condnet.1"
    assert result.first_divergence.causes[0].cause == "scale"


@pytest.mark.slow
def test_mlx_port_channels_last_and_sequential_layers_is_parity(ref_trace, tmp_path):
    pytest.importorskip("mlx.core")
    model, x, ref = ref_trace
    port = mlx_port_trace(model, x, tmp_path / "mlx.safetensors")
    result = compare_traces(ref, port)
    assert result.status == "parity", [(e.name, e.port_name, e.detail) for e in result.failing]
    pairs = {e.port_name: (e.ref_name, e.method) for e in result.entries}
    assert pairs["condnet.layers.1"][0] == "condnet.2"
    assert pairs["condnet.layers.2"][0] == "condnet.4"
    assert any("channels-last" in line for line in result.conventions)
    converted = [e for e in result.entries if e.convention == "channels_last"]
    assert len(converted) >= 4
    # [1, 16, 16] activations are square: the values decided, and they are converted too
    assert any(e.shape == (1, 16, 16) for e in converted)


@pytest.mark.slow
def test_mlx_port_wrong_activation_slope_is_found_in_reference_layout(ref_trace, tmp_path):
    pytest.importorskip("mlx.core")
    model, x, ref = ref_trace
    port = mlx_port_trace(model, x, tmp_path / "mlx.safetensors", bug_slope=0.2)
    result = compare_traces(ref, port)
    assert result.status == "divergent"
    first = result.first_divergence
    assert first.name == "condnet.2" and first.entry.convention == "channels_last"
    assert first.causes and first.causes[0].cause != "layout"


@pytest.mark.slow
def test_mlx_port_without_module_classes_still_pairs_when_values_agree(ref_trace, tmp_path):
    pytest.importorskip("mlx.core")
    model, x, ref = ref_trace
    port = mlx_port_trace(model, x, tmp_path / "mlx.safetensors", classes=False)
    result = compare_traces(ref, port)
    assert result.status == "parity"
    assert {e.port_name: e.ref_name for e in result.entries}["condnet.layers.1"] == "condnet.2"


def test_strict_layout_restores_stored_layout(ref_trace, tmp_path):
    pytest.importorskip("mlx.core")
    model, x, ref = ref_trace
    port = mlx_port_trace(model, x, tmp_path / "mlx.safetensors")
    result = compare_traces(ref, port, strict_layout=True)
    assert result.status == "divergent"
    assert not result.conventions
    assert result.first_divergence.causes[0].cause == "layout"


def test_single_transposed_tensor_is_a_layout_bug_not_a_convention(ref_trace, tmp_path):
    """One tensor stored [B, T, C] among [B, C, T]: a bug to report, with a note naming the
    reading that would fit — never silently converted."""
    ref = ref_trace[2]
    trace = open_trace(ref)
    tensors = {n: np.array(trace.read(n)) for n in trace.names}
    tensors["condnet.4"] = tensors["condnet.4"].transpose(0, 2, 1).copy()
    port = write_trace(tmp_path / "port.safetensors", tensors)
    result = compare_traces(ref, port)
    assert result.status == "divergent" and result.first_divergence.name == "condnet.4"
    assert result.first_divergence.entry.status == "shape"
    assert result.first_divergence.causes[0].cause == "layout"
    assert any("condnet.4" in n and "channels_last" in n for n in result.notes)
