"""``audioparity explain REF PORT``: exit codes, JSON, input forms, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from audioparity.trace import TraceWriter, write_trace


@pytest.fixture
def conv_weight():
    return torch.nn.Conv1d(16, 24, 5).weight.detach().numpy()


def test_layout_pair_exits_1_with_ranked_causes_in_json(cli, tmp_path, conv_weight):
    ref, port = tmp_path / "ref.npy", tmp_path / "port.npy"
    np.save(ref, conv_weight)
    np.save(port, np.ascontiguousarray(conv_weight.transpose(0, 2, 1)).reshape(
        conv_weight.shape))
    out = tmp_path / "out.json"
    code, stdout, err = cli("explain", ref, port, "--json", out)
    assert code == 1 and err == ""
    result = json.loads(out.read_text())
    assert result["status"] == "divergent"
    assert result["causes"][0]["cause"] == "layout"
    assert result["causes"][0]["params"]["perm"] == [0, 2, 1]
    assert set(result["causes"][0]) == {"cause", "confidence", "detail", "params", "hint"}
    assert "layout" in stdout and "MLX" in stdout


def test_parity_exits_0_across_npy_pt_and_safetensors(cli, tmp_path, conv_weight):
    np.save(tmp_path / "a.npy", conv_weight)
    torch.save({"w": torch.from_numpy(conv_weight)}, tmp_path / "b.pt")
    write_trace(tmp_path / "c.safetensors", {"w": conv_weight})
    code, stdout, _ = cli("explain", tmp_path / "a.npy", tmp_path / "b.pt")
    assert code == 0 and "parity" in stdout
    code, _, _ = cli("explain", tmp_path / "b.pt", tmp_path / "c.safetensors")
    assert code == 0


def test_bf16_only_difference_exits_0_as_precision(cli, tmp_path):
    x = torch.randn(8, 512)
    write_trace(tmp_path / "ref.safetensors", {"h": x.numpy()})
    with TraceWriter(tmp_path / "port.safetensors") as w:
        w.add("h", x.numpy(), dtype="bfloat16")
    code, stdout, _ = cli("explain", tmp_path / "ref.safetensors", tmp_path / "port.safetensors",
                          "--json", "-")
    result = json.loads(stdout)
    assert code == 0 and result["status"] == "parity" and result["precision_only"] is True
    assert [c["cause"] for c in result["causes"]] == ["precision"]
    assert result["port_dtype"] == "bfloat16"


def test_kind_filter_and_unknown_kind(cli, tmp_path):
    ref = np.random.default_rng(0).normal(size=(4, 100)).astype(np.float32)
    np.save(tmp_path / "r.npy", ref)
    np.save(tmp_path / "p.npy", -ref)
    code, stdout, _ = cli("explain", tmp_path / "r.npy", tmp_path / "p.npy", "--kind", "scale",
                          "--json", "-")
    assert code == 1 and json.loads(stdout)["causes"][0]["cause"] == "unknown"
    code, _, err = cli("explain", tmp_path / "r.npy", tmp_path / "p.npy", "--kind", "bogus")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "bogus" in err


def test_trace_with_recorded_input_uses_it(cli, tmp_path):
    x = torch.randn(2, 64, 128) * 2
    write_trace(tmp_path / "ref.safetensors", {"act:in0": x.numpy(),
                                               "act": torch.nn.GELU()(x).numpy()})
    write_trace(tmp_path / "port.safetensors",
                {"act:in0": x.numpy(), "act": torch.nn.GELU(approximate="tanh")(x).numpy()})
    code, stdout, _ = cli("explain", tmp_path / "ref.safetensors",
                          tmp_path / "port.safetensors", "--ref-name", "act", "--json", "-")
    assert code == 1 and json.loads(stdout)["causes"][0]["cause"] == "activation"


@pytest.mark.parametrize("problem", ["missing", "corrupt", "multi", "name"])
def test_bad_input_is_one_line_and_exit_2(cli, tmp_path, problem):
    good = tmp_path / "good.npy"
    np.save(good, np.ones(8, np.float32))
    args = ["explain", good]
    if problem == "missing":
        args.append(tmp_path / "nope.npy")
    elif problem == "corrupt":
        bad = tmp_path / "bad.npy"
        bad.write_bytes(b"\x93NUMPY garbage")
        args.append(bad)
    elif problem == "multi":
        write_trace(tmp_path / "two.safetensors", {"a": np.ones(3), "b": np.ones(3)})
        args.append(tmp_path / "two.safetensors")
    else:
        args += [good, "--ref-name", "nothing"]
    before = {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    code, _, err = cli(*args)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("audioparity: error:")
    assert {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before


def test_top_limits_the_causes_listed(cli, tmp_path):
    x = torch.randn(2, 300)
    write_trace(tmp_path / "ref.safetensors", {"audio": x.numpy()})
    write_trace(tmp_path / "port.safetensors", {"audio": x[:, 40:].numpy()})  # front crop
    args = ["explain", tmp_path / "ref.safetensors", tmp_path / "port.safetensors",
            "--ref-name", "audio", "--json", "-"]
    _, stdout, _ = cli(*args)
    assert [c["cause"] for c in json.loads(stdout)["causes"]] == ["length", "shift"]
    _, stdout, _ = cli(*args, "--top", "1")
    assert [c["cause"] for c in json.loads(stdout)["causes"]] == ["length"]
