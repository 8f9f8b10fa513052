"""``audioparity capture onnx``: a real dynamo ONNX export captured from the CLI compares at
parity with the torch capture of the same module; bad input is one line and exit 2."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")
torch = pytest.importorskip("torch")

from audioparity.compare import compare_traces
from audioparity.sources.torch_capture import capture
from audioparity.trace import open_trace


class Block(torch.nn.Module):
    """Conv1d -> GELU -> LayerNorm over channels, plus a conditioning projection."""

    def __init__(self, channels: int, cond: int):
        super().__init__()
        self.conv = torch.nn.Conv1d(channels, channels, 3, padding=1)
        self.act = torch.nn.GELU()
        self.norm = torch.nn.LayerNorm(channels)
        self.film = torch.nn.Linear(cond, channels)

    def forward(self, x, c):
        h = self.act(self.conv(x)) + self.film(c).unsqueeze(-1)
        return self.norm(h.transpose(1, 2)).transpose(1, 2)


class Vocoder(torch.nn.Module):
    """Two blocks and a 1x1 conv head: a small model with two graph inputs.

    (A ``Linear`` head on ``h.transpose(1, 2)`` would cancel the last block's own transpose
    in the exporter's optimizer, leaving that block's output un-transposed in the graph.)
    """

    def __init__(self, channels: int = 16, cond: int = 8):
        super().__init__()
        self.pre = torch.nn.Conv1d(4, channels, 1)
        self.blocks = torch.nn.ModuleList([Block(channels, cond) for _ in range(2)])
        self.head = torch.nn.Conv1d(channels, 2, 1)

    def forward(self, mel, cond):
        h = self.pre(mel)
        for block in self.blocks:
            h = block(h, cond)
        return torch.tanh(self.head(h))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The model's ONNX export, its inputs as .npy files, and its torch trace."""
    out = tmp_path_factory.mktemp("capture_onnx")
    torch.manual_seed(0)
    model = Vocoder().eval()
    mel, cond = torch.randn(1, 4, 20), torch.randn(1, 8)
    torch.onnx.export(model, (mel, cond), out / "vocoder.onnx", dynamo=True, verbose=False,
                      input_names=["mel", "cond"])
    np.save(out / "mel.npy", mel.numpy())
    np.save(out / "cond.npy", cond.numpy())
    with torch.no_grad(), capture(model, out / "ref.safetensors"):
        model(mel, cond)
    return out


def _args(d, *extra):
    return ["capture", "onnx", d / "vocoder.onnx", "--input", f"mel={d / 'mel.npy'}",
            "--input", f"cond={d / 'cond.npy'}", *extra]


@pytest.mark.slow
def test_captured_trace_has_parity_with_the_torch_capture(exported, cli, tmp_path):
    code, out, err = cli(*_args(exported, "-o", tmp_path / "ort.safetensors"))
    assert code == 0, err
    assert "recorded" in out and "ort.safetensors" in out
    result = compare_traces(exported / "ref.safetensors", tmp_path / "ort.safetensors",
                            explain="none", by_order=False)
    assert result.status == "parity", [(e.name, e.max_abs) for e in result.failing]
    by_name = {e.name for e in result.entries if e.method == "name"}
    for block in ("blocks.0", "blocks.1"):
        for part in ("", ".conv", ".act", ".norm", ".film"):
            assert f"{block}{part}" in by_name
    assert {"pre", "head", "output"} <= by_name
    with open_trace(tmp_path / "ort.safetensors") as trace:
        assert trace.meta["source"] == "onnxruntime"
        assert trace.meta["inputs"] == {"mel": [1, 4, 20], "cond": [1, 8]}


@pytest.mark.slow
def test_include_and_exclude_select_module_paths(exported, cli, tmp_path):
    code, out, err = cli(*_args(exported, "-o", tmp_path / "some.safetensors",
                                "--include", "blocks.1*", "--exclude", "*.act"))
    assert code == 0, err
    with open_trace(tmp_path / "some.safetensors") as trace:
        names = trace.names
    assert names and all(n.startswith("blocks.1") and not n.endswith(".act") for n in names)
    assert "blocks.1.norm" in names and "left out by --include/--exclude" in out


@pytest.mark.slow
def test_bfloat16_storage_keeps_values_within_bf16_precision(exported, cli, tmp_path):
    code, _, err = cli(*_args(exported, "-o", tmp_path / "bf16.safetensors", "--dtype",
                              "bfloat16"))
    assert code == 0, err
    result = compare_traces(exported / "ref.safetensors", tmp_path / "bf16.safetensors",
                            explain="none", by_order=False)
    assert result.status == "parity"
    with open_trace(tmp_path / "bf16.safetensors") as trace:
        assert trace.info("head").dtype == "bfloat16"


def _one_line_error(code: int, out: str, err: str, *names: str) -> str:
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for name in names:
        assert name in lines[0], lines[0]
    return lines[0]


@pytest.mark.slow
@pytest.mark.parametrize(("bad", "expected"), [
    ("missing model", "no such file"),
    ("text as model", "not a readable ONNX model"),
    ("missing npy", "no such file"),
    ("npy is text", "not a readable .npy array"),
    ("unknown input", "has no input 'speaker'"),
    ("input left out", "needs --input for cond"),
    ("wrong rank", "shape [4, 20] does not fit: input 'mel' takes float32 [1, 4, 20]"),
    ("wrong dtype", "dtype float64 does not fit: input 'mel' takes float32"),
    ("output under a file", "cannot write here"),
    ("output not safetensors", ".safetensors"),
    ("spec without =", "NAME=FILE.npy"),
    ("nothing included", "keep none of the"),
])
def test_bad_input_is_one_line_naming_the_file_and_exit_2(exported, cli, tmp_path, bad,
                                                          expected):
    d = exported
    model, mel, cond = d / "vocoder.onnx", f"mel={d / 'mel.npy'}", f"cond={d / 'cond.npy'}"
    out = tmp_path / "t.safetensors"
    (tmp_path / "file").write_text("a file")
    (tmp_path / "notes.txt").write_text("not a model")
    np.save(tmp_path / "mel3d.npy", np.zeros((4, 20), np.float32))
    np.save(tmp_path / "mel64.npy", np.zeros((1, 4, 20), np.float64))
    args, blamed = {
        "missing model": ([tmp_path / "absent.onnx", "-i", mel, "-i", cond, "-o", out],
                          "absent.onnx"),
        "text as model": ([tmp_path / "notes.txt", "-i", mel, "-i", cond, "-o", out],
                          "notes.txt"),
        "missing npy": ([model, "-i", f"mel={tmp_path / 'nope.npy'}", "-i", cond, "-o", out],
                        "nope.npy"),
        "npy is text": ([model, "-i", f"mel={tmp_path / 'notes.txt'}", "-i", cond, "-o", out],
                        "notes.txt"),
        "unknown input": ([model, "-i", mel, "-i", cond, "-i", f"speaker={d / 'cond.npy'}",
                           "-o", out], "vocoder.onnx"),
        "input left out": ([model, "-i", mel, "-o", out], "vocoder.onnx"),
        "wrong rank": ([model, "-i", f"mel={tmp_path / 'mel3d.npy'}", "-i", cond, "-o", out],
                       "mel3d.npy"),
        "wrong dtype": ([model, "-i", f"mel={tmp_path / 'mel64.npy'}", "-i", cond, "-o", out],
                        "mel64.npy"),
        "output under a file": ([model, "-i", mel, "-i", cond, "-o",
                                 tmp_path / "file" / "t.safetensors"], "t.safetensors"),
        "output not safetensors": ([model, "-i", mel, "-i", cond, "-o", tmp_path / "t.npz"],
                                   "t.npz"),
        "spec without =": ([model, "-i", "mel", "-i", cond, "-o", out], "'mel'"),
        "nothing included": ([model, "-i", mel, "-i", cond, "-o", out, "--include", "decoder*"],
                             "--include"),
    }[bad]
    line = _one_line_error(*cli("capture", "onnx", *args), blamed)
    assert expected in line
    assert not out.exists()


def test_shapes_only_the_runtime_refuses_are_one_line_naming_the_model(cli, tmp_path):
    """Symbolic dims accept any size before the run; Add then refuses 3 + 4 elements."""
    from onnx import TensorProto, helper, save

    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["y"], name="/add/Add")], "add",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["n"]),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, ["m"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    save(helper.make_model(graph), str(tmp_path / "add.onnx"))
    np.save(tmp_path / "a.npy", np.ones(3, np.float32))
    np.save(tmp_path / "b.npy", np.ones(4, np.float32))
    args = ["capture", "onnx", tmp_path / "add.onnx", "-i", f"a={tmp_path / 'a.npy'}",
            "-i", f"b={tmp_path / 'b.npy'}", "-o", tmp_path / "t.safetensors"]
    line = _one_line_error(*cli(*args), "add.onnx")
    assert "onnxruntime failed" in line
    np.save(tmp_path / "b.npy", np.full(3, 2, np.float32))
    code, _, err = cli(*args)
    assert code == 0, err
    with open_trace(tmp_path / "t.safetensors") as trace:
        np.testing.assert_allclose(trace.read("output"), np.full(3, 3.0))
