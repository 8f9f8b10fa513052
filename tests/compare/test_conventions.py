"""The port-convention registry: each convention's shape rule and its reading of real
activations (a PyTorch conv's channels-first output, a transformers attention's heads)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audioparity.compare.conventions import candidates, conventions, describe
from audioparity.compare.conventions.infer import infer, is_parameter
from audioparity.compare.fingerprint import Fingerprints, difference, positions
from audioparity.trace import TensorInfo


@pytest.fixture(scope="module")
def conv_out() -> np.ndarray:
    torch.manual_seed(0)
    conv = torch.nn.Conv1d(6, 10, 3, padding=1)
    with torch.no_grad():
        return conv(torch.randn(2, 6, 24)).numpy()  # [B, C, T]


def test_registry_lists_every_convention():
    assert {c.name for c in conventions()} == {"batch_axis", "channels_last", "heads",
                                                "rope_rows", "tokens_first"}
    assert describe("channels_last", 87) == "port stores activations channels-last: 87 tensors"


def test_channels_last_reads_a_conv_output_back(conv_out):
    port = np.ascontiguousarray(conv_out.transpose(0, 2, 1))  # what MLX keeps: [B, T, C]
    (t,) = candidates(conv_out.shape, port.shape)
    assert t.name == "channels_last"
    np.testing.assert_array_equal(t.apply(port), conv_out)
    flat = positions(conv_out.shape, 50)
    np.testing.assert_array_equal(port.reshape(-1)[t.port_indices(flat)], conv_out.reshape(-1)[flat])


def test_no_batch_axis_and_channels_last_compose(conv_out):
    ref = conv_out[:1]
    port = np.ascontiguousarray(ref[0].T)  # [T, C]
    names = [t.name for t in candidates(ref.shape, port.shape)]
    assert names == ["batch_axis+channels_last"]
    np.testing.assert_array_equal(candidates(ref.shape, port.shape)[0].apply(port), ref)


def test_heads_split_and_tokens_first_on_real_attention_shapes():
    q = np.random.default_rng(0).standard_normal((1, 7, 4 * 8)).astype(np.float32)
    split = q[0].reshape(7, 4, 8)  # llama.cpp Qcur: [T, n_head, d]
    (t,) = candidates(q.shape, split.shape)
    assert t.name == "batch_axis+heads"
    np.testing.assert_array_equal(t.apply(split), q)
    heads_first = q.reshape(1, 7, 4, 8).transpose(0, 2, 1, 3)  # torch [B, n_head, T, d]
    (t,) = candidates(heads_first.shape, split.shape)
    assert t.name == "batch_axis+tokens_first"
    np.testing.assert_array_equal(t.apply(split), heads_first)


@pytest.mark.parametrize(("ref", "port"), [((6, 4), (4, 6)), ((1, 8, 32), (1, 32, 8, 1)),
                                           ((2, 3, 5), (2, 3, 5))])
def test_shapes_that_only_flatten_alike_are_no_convention(ref, port):
    assert candidates(ref, port) == []


def _square_case(transposed: list[bool]):
    """Four [1, 12, 12] pairs; the port stores those flagged channels-last."""
    rng = np.random.default_rng(1)
    refs = {f"a{k}": rng.standard_normal((1, 12, 12)).astype(np.float32) for k in range(4)}
    ports = {n: (a.transpose(0, 2, 1).copy() if flag else a)
             for (n, a), flag in zip(refs.items(), transposed, strict=True)}
    info = {n: TensorInfo(n, a.shape, "float32") for n, a in refs.items()}
    fps = Fingerprints(refs.__getitem__, ports.__getitem__)
    return infer([(n, n) for n in refs], info, info, fps), refs, ports


def test_square_tensors_are_decided_by_values():
    readings, refs, ports = _square_case([True, True, True, False])
    assert "channels_last" in readings.adopted
    for n in ("a0", "a1", "a2"):
        assert readings.by_ref[n].name == "channels_last"
        np.testing.assert_array_equal(readings.by_ref[n].apply(ports[n]), refs[n])
    assert readings.by_ref["a3"].is_identity  # breaks the majority: compared as stored
    assert any("'a3'" in note for note in readings.notes)


def test_one_fitting_tensor_is_not_a_convention():
    readings, *_ = _square_case([True, False, False, False])
    assert "channels_last" not in readings.adopted
    assert all(r.is_identity for r in readings.by_ref.values())


def test_parameters_keep_their_stored_layout():
    assert is_parameter("resblocks.0.convs1.1.weight") and not is_parameter("decoder.conv")


def test_fingerprint_difference_is_scale_aware():
    a = np.linspace(-1, 1, 100)
    assert difference(a, a) == 0.0  # exact: a - a is zero
    assert difference(a, 1.5 * a) == pytest.approx(1 / 3)
    assert difference(a, None) == float("inf")


def test_a_lone_missing_batch_axis_is_read_even_when_values_differ():
    """A pure reshape moves no element: one tensor is enough (mlx-audio's Vocos head returns
    ``[N]`` for torch's ``[1, N]``), and a value bug behind it is measured, not a SHAPE."""
    rng = np.random.default_rng(2)
    ref = {"head": rng.standard_normal((1, 64)).astype(np.float32)}
    port = {"head": (0.75 * ref["head"][0]).astype(np.float32)}
    info_r = {"head": TensorInfo("head", (1, 64), "float32")}
    info_p = {"head": TensorInfo("head", (64,), "float32")}
    readings = infer([("head", "head")], info_r, info_p,
                     Fingerprints(ref.__getitem__, port.__getitem__))
    assert readings.by_ref["head"].name == "batch_axis"
    assert readings.summary() == ["port has no batch axis (or an extra size-1 axis): 1 tensor"]
