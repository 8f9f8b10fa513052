"""MLX capture: SPEC names, values as MLX computed them, classes restored, atomic output."""

from __future__ import annotations

import numpy as np
import pytest

mx = pytest.importorskip("mlx.core")
nn = pytest.importorskip("mlx.nn")

from audioparity.sources.mlx_capture import capture
from audioparity.trace import open_trace


class Block(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.proj = nn.Linear(dim, dim)
        self.act = nn.GELU()

    def __call__(self, x):
        return self.act(self.proj(x)), x


class Net(nn.Module):
    """Conv1d (NLC in MLX) -> two blocks in a list -> a shared norm called twice."""

    def __init__(self, dim: int = 6):
        super().__init__()
        self.embed = nn.Conv1d(3, dim, kernel_size=3, padding=1)
        self.blocks = [Block(dim), Block(dim)]
        self.norm = nn.RMSNorm(dim)

    def __call__(self, x):
        x = self.embed(x)
        for block in self.blocks:
            x, _ = block(x)
        return self.norm(self.norm(x))


def _net() -> tuple[Net, mx.array]:
    mx.random.seed(0)
    net = Net()
    x = mx.random.normal((1, 5, 3))
    return net, x


def test_names_follow_spec_in_completion_order():
    net, x = _net()
    with capture(net) as rec:
        net(x)
    assert rec.names == [
        "embed", "blocks.0.proj", "blocks.0.act", "blocks.0", "blocks.0:out1",
        "blocks.1.proj", "blocks.1.act", "blocks.1", "blocks.1:out1", "norm", "norm#1", "output",
    ]
    assert rec.module_types["blocks.0"] == "Block"
    assert rec.module_types["norm"] == "RMSNorm"


def test_values_are_what_mlx_computed_and_nlc_stays_nlc():
    net, x = _net()
    with capture(net) as rec:
        y = net(x)
    embed = np.array(net.embed(x))
    assert rec.tensors["embed"].shape == (1, 5, 6)  # [B, T, C], not converted to [B, C, T]
    np.testing.assert_array_equal(rec.tensors["embed"], embed)
    np.testing.assert_array_equal(rec.tensors["output"], np.array(y))
    np.testing.assert_array_equal(rec.tensors["blocks.1:out1"], rec.tensors["blocks.0"])


def test_inputs_and_steps():
    net, x = _net()
    with capture(net, inputs=True, steps=True) as rec:
        net(x)
        net(x * 2)
    assert "@0/embed:in0" in rec.names and "@1/norm#1:in0" in rec.names
    assert "@1/output" in rec.names and "@2/output" not in rec.names
    np.testing.assert_array_equal(rec.tensors["@1/embed:in0"], np.array(x * 2))


def test_classes_restored_and_partial_trace_on_error(tmp_path):
    net, x = _net()
    classes = {name: type(m) for name, m in net.named_modules()}
    out = tmp_path / "port.safetensors"
    with pytest.raises(ValueError, match="forward failed"), capture(net, out):
        net(x)
        raise ValueError("forward failed\nsecond line")
    assert {name: type(m) for name, m in net.named_modules()} == classes
    assert [p.name for p in tmp_path.iterdir()] == ["port.safetensors"]  # atomic: no temporaries
    with open_trace(out) as trace:
        assert trace.names[-1] == "output"
        assert trace.meta["incomplete"] is True
        assert trace.meta["error"] == "ValueError: forward failed"
    with capture(net):
        net(x)
    assert type(net.embed) is nn.Conv1d


class Crashes(nn.Module):
    """A projection and an activation run, then a matmul with the wrong width raises."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(4, 8)
        self.act = nn.GELU()
        self.out = nn.Linear(4, 2)

    def __call__(self, x):
        return self.out(self.act(self.proj(x)))


def test_partial_trace_when_forward_raises_midway(tmp_path):
    mx.random.seed(0)
    model, x = Crashes(), mx.random.normal((2, 4))
    out = tmp_path / "crash.safetensors"
    with pytest.raises(ValueError) as raised, capture(model, out, inputs=True):
        model(x)
    message = str(raised.value).strip().splitlines()[0]
    assert type(model.out) is nn.Linear and type(model) is Crashes
    with open_trace(out) as trace:
        assert trace.names == ["output:in0", "proj:in0", "proj", "act:in0", "act", "out:in0"]
        np.testing.assert_allclose(trace.read("act"), np.array(model.act(model.proj(x))),
                                   rtol=1e-6, atol=1e-6)
        assert trace.meta["incomplete"] is True
        assert trace.meta["error"] == f"ValueError: {message}"

    with pytest.raises(ValueError), capture(model) as rec:
        model(x)
    assert rec.incomplete and rec.names == ["proj", "act"]


def test_no_file_when_nothing_was_recorded(tmp_path):
    net, _ = _net()
    with pytest.raises(ValueError), capture(net, tmp_path / "none.safetensors"):
        net(mx.zeros((1, 5, 4)))  # wrong channel count: the first conv raises
    assert list(tmp_path.iterdir()) == []


def test_trace_file_bf16_filters_and_limits(tmp_path):
    net, x = _net()
    net.set_dtype(mx.bfloat16)
    out = tmp_path / "port.safetensors"
    with capture(net, out, exclude="blocks.1*") as rec:
        net(x.astype(mx.bfloat16))
    with open_trace(out) as trace:
        assert trace.names == rec.names
        assert not any(n.startswith("blocks.1") for n in trace.names)
        assert trace.info("embed").dtype == "bfloat16"
        assert trace.meta["source"] == "mlx" and trace.meta["modules"]["embed"] == "Conv1d"
        assert trace.read("output").dtype == np.float32
    with capture(net, max_tensors=3) as rec:
        net(x.astype(mx.bfloat16))
    assert rec.truncated and len(rec.names) == 3


def test_rejects_non_mlx_model():
    with pytest.raises(TypeError), capture(object()):
        pass


class Attend(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(4, 4)

    def __call__(self, hidden_states, mask=None, offsets=None, **kwargs):
        return self.proj(hidden_states) * mask + offsets + kwargs.get("bias", 0)


class Caller(nn.Module):
    def __init__(self, keywords: bool):
        super().__init__()
        self.layer = Attend()
        self.keywords = keywords

    def __call__(self, h, mask, offsets, bias):
        if self.keywords:
            return self.layer(h, offsets=offsets, bias=bias, mask=mask)
        return self.layer(h, mask, offsets, bias=bias)


def test_keyword_and_positional_calls_record_the_same_inputs():
    mx.random.seed(0)
    h, mask, offsets, bias = (mx.random.normal(s) for s in ((1, 3, 4), (1, 3, 1), (1, 3, 1), (4,)))
    recorded = {}
    for keywords in (True, False):
        model = Caller(keywords)
        with capture(model, inputs=True) as rec:
            model(h, mask, offsets, bias)
        recorded[keywords] = rec
    assert recorded[True].names == recorded[False].names
    assert [n for n in recorded[True].names if n.startswith("layer:in")] == [
        "layer:in0", "layer:in1", "layer:in2", "layer:in3"]
    np.testing.assert_allclose(recorded[True].tensors["layer:in2"], np.array(offsets))
    np.testing.assert_allclose(recorded[True].tensors["layer:in3"], np.array(bias))


class LeakyBlock(nn.Module):
    """Calls its activation as a function, as ports often do where torch has a module."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(4, 4)
        self.norm = nn.RMSNorm(4)

    def __call__(self, x):
        return self.norm(nn.leaky_relu(self.proj(x), 0.2))


class LeakyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = LeakyBlock()

    def __call__(self, x):
        return mx.tanh(self.block(x))


def test_functions_are_recorded_under_the_enclosing_module():
    mx.random.seed(0)
    model, x = LeakyNet(), mx.random.normal((2, 3, 4))
    originals = (nn.leaky_relu, mx.fast.rms_norm, mx.tanh)
    with capture(model, inputs=True, functions=["mlx.nn.leaky_relu", "mlx.core.fast.rms_norm",
                                                "mlx.core.tanh"]) as rec:
        y = model(x)
    assert (nn.leaky_relu, mx.fast.rms_norm, mx.tanh) == originals
    names = [n for n in rec.names if ":in" not in n]
    assert names == ["block.proj", "block.leaky_relu", "block.norm.rms_norm", "block.norm",
                     "block", "tanh", "output"]
    proj = rec.tensors["block.proj"]
    np.testing.assert_allclose(rec.tensors["block.leaky_relu:in0"], proj)
    np.testing.assert_allclose(rec.tensors["block.leaky_relu"], np.where(proj > 0, proj, 0.2 * proj),
                               rtol=1e-6, atol=1e-7)
    # RMSNorm calls mx.fast.rms_norm(x, weight, eps): the weight is input 1
    np.testing.assert_allclose(rec.tensors["block.norm.rms_norm:in1"], np.ones(4))
    np.testing.assert_allclose(rec.tensors["block.norm.rms_norm"], rec.tensors["block.norm"])
    np.testing.assert_allclose(rec.tensors["output"], np.array(y), rtol=1e-6, atol=1e-7)


def test_unknown_function_is_refused_and_nothing_stays_patched(tmp_path):
    net, x = _net()
    with pytest.raises(TypeError, match="no_such"), capture(net, tmp_path / "t.safetensors",
                                                functions=["mlx.nn.gelu", "mlx.nn.no_such"]):
        net(x)
    assert not hasattr(nn.gelu, "__wrapped__") and list(tmp_path.iterdir()) == []
