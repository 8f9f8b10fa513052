"""docs/examples/dump_trace.cpp compiles, runs, and its trace compares at parity with the
PyTorch reference it ports (a planted bug makes it divergent at the right node).

The reference is the tiny network the C++ file describes; its weights go to the raw file
the C++ program reads, with the embedding tables rounded to the dtype the port stores them
in (BF16, F16), so the two sides compute the same function.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

SOURCE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "dump_trace.cpp"
IDS = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4]


class Transpose(torch.nn.Module):
    """[B, T, C] -> [B, C, T] (the port's strided view)."""

    def forward(self, x):
        return x.transpose(1, 2)


class TinyNet(torch.nn.Module):
    """The reference of dump_trace.cpp: embeddings, a transpose, two convs, one tanh used
    twice."""

    def __init__(self):
        super().__init__()
        self.tok_embed = torch.nn.Embedding(32, 8)
        self.pos_embed = torch.nn.Embedding(64, 8)
        self.to_channels_first = Transpose()
        self.conv = torch.nn.Conv1d(8, 8, 3, padding=1)
        self.act = torch.nn.Tanh()
        self.head = torch.nn.Conv1d(8, 1, 3, padding=1)

    def forward(self, ids):
        h = self.tok_embed(ids) + self.pos_embed(torch.arange(ids.shape[1]))
        h = self.act(self.conv(self.to_channels_first(h)))
        return self.act(self.head(h))


def _write_weights(model: TinyNet, path: Path) -> None:
    """The raw little-endian file dump_trace.cpp reads (layout: the top of that file)."""
    with torch.no_grad():
        model.tok_embed.weight.copy_(model.tok_embed.weight.bfloat16().float())
        model.pos_embed.weight.copy_(model.pos_embed.weight.half().float())
    parts = [model.tok_embed.weight.detach().bfloat16().view(torch.int16).numpy(),
             model.pos_embed.weight.detach().half().numpy()]
    parts += [p.detach().numpy().astype("<f4") for p in
              (model.conv.weight, model.conv.bias, model.head.weight, model.head.bias)]
    path.write_bytes(b"".join(np.ascontiguousarray(p).tobytes() for p in parts))


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> Path:
    """The example compiled with warnings as errors."""
    compiler = shutil.which("g++")
    if compiler is None:
        pytest.skip("g++ is not installed")
    binary = tmp_path_factory.mktemp("cpp") / "dump_trace"
    subprocess.run([compiler, "-std=c++17", "-O1", "-Wall", "-Wextra", "-Wpedantic", "-Werror",
                    "-o", str(binary), str(SOURCE)], check=True, capture_output=True,
                   timeout=120)
    return binary


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """The reference trace (torch capture) and the weights file for the port."""
    from audioparity.sources.torch_capture import capture

    torch.manual_seed(0)
    model = TinyNet().eval()
    out = tmp_path_factory.mktemp("ref")
    _write_weights(model, out / "weights.bin")
    with torch.no_grad(), capture(model, out / "ref.safetensors"):
        model(torch.tensor([IDS]))
    return {"ref": out / "ref.safetensors", "weights": out / "weights.bin"}


def _port(program: Path, files: dict, out: Path, *flags: str) -> Path:
    done = subprocess.run([str(program), str(files["weights"]), str(out), *map(str, IDS),
                           *flags], check=False, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return out


def test_trace_is_read_with_its_order_views_dtypes_and_repeats(program, files, tmp_path):
    from audioparity.trace import open_trace

    port = open_trace(_port(program, files, tmp_path / "port.safetensors"))
    ref = open_trace(files["ref"])
    assert port.names == ref.names == ["tok_embed", "pos_embed", "to_channels_first", "conv",
                                       "act", "head", "act#1", "output"]
    for name in port.names:
        got, want = port.read(name), ref.read(name)
        assert got.dtype == np.float32 and got.shape == want.shape, name
        if name in ("tok_embed", "pos_embed", "to_channels_first"):
            # exact: table rows stored BF16/F16 (same values on both sides), widened
            # exactly; the transpose moves them, a sum of two rounded numbers is one f32 add
            assert np.array_equal(got, want), name
        else:
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=name)


def test_compare_says_parity(program, files, tmp_path, cli):
    port = _port(program, files, tmp_path / "port.safetensors")
    code, out, err = cli("compare", files["ref"], port, "--json", "-")
    assert code == 0, err
    data = json.loads(out)
    assert data["status"] == "parity" and data["first_divergence"] is None
    assert len(data["entries"]) == 8 and all(e["ok"] for e in data["entries"])
    assert {e["ref_name"] == e["port_name"] for e in data["entries"]} == {True}


def test_a_planted_bug_is_found_at_its_node(program, files, tmp_path, cli):
    port = _port(program, files, tmp_path / "port.safetensors", "--bug")
    code, out, err = cli("compare", files["ref"], port, "--json", "-")
    assert code == 1, err
    data = json.loads(out)
    assert data["status"] == "divergent"
    assert data["first_divergence"]["name"] == "conv"


def test_bad_weights_file_is_one_line_and_no_trace(program, tmp_path):
    (tmp_path / "short.bin").write_bytes(b"\0" * 100)
    done = subprocess.run([str(program), str(tmp_path / "short.bin"),
                           str(tmp_path / "port.safetensors"), "1", "2"],
                          check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "short.bin: not the expected size" in done.stderr
    assert list(tmp_path.iterdir()) == [tmp_path / "short.bin"]
