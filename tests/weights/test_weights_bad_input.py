"""Bad input: one clear line and exit 2, or a report that says the models differ."""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import torch
from weights_files import write_gguf

from audioparity.trace import write_trace


def _one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("audioparity: error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err


def test_corrupt_and_truncated_safetensors(seed002, cli, tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(os.urandom(300))
    code, _, err = cli("weights", "audit", seed002["ref"], junk)
    _one_line_error(code, err, "junk.safetensors")
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(seed002["port"].read_bytes()[:-100])
    code, _, err = cli("weights", "audit", seed002["ref"], cut)
    _one_line_error(code, err, "cut.safetensors", "truncated")


def test_gguf_with_unknown_tensor_type(cli, tmp_path):
    path = write_gguf(tmp_path / "m.gguf", {"w": np.ones((4, 32), np.float32)}, {"w": "Q8_0"})
    data = bytearray(path.read_bytes())
    at = data.index(b"w", 24) + 1 + 4 + 2 * 8  # name, n_dims, two dims: then the type
    data[at:at + 4] = (250).to_bytes(4, "little")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(bytes(data))
    code, _, err = cli("weights", "quant", bad, "--type", "Q8_0")
    _one_line_error(code, err, "bad.gguf")


class Payload:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_pickle_with_code_is_refused(seed002, cli, tmp_path):
    evil = tmp_path / "evil.pt"
    torch.save({"w": torch.zeros(2), "x": Payload()}, evil)
    code, _, err = cli("weights", "audit", seed002["ref"], evil)
    _one_line_error(code, err, "evil.pt", "refusing to unpickle")


def test_two_different_models_are_called_out(seed002, cli, tmp_path):
    rng = np.random.default_rng(0)
    other = {f"transformer.h.{i}.mlp.c_fc.weight": rng.standard_normal((5, 7)).astype(np.float32)
             for i in range(40)}
    write_trace(tmp_path / "other.safetensors", other)
    out = tmp_path / "a.json"
    code, stdout, err = cli("weights", "audit", seed002["ref"], tmp_path / "other.safetensors",
                            "--json", out)
    assert code == 1 and err == ""
    assert "no counterpart for 100% of reference tensors — are these the same model?" in stdout
    assert json.loads(out.read_text())["coverage"] == 0.0  # exact: nothing covered


def test_missing_files_bad_index_and_bad_options(seed002, cli, tmp_path):
    code, _, err = cli("weights", "audit", seed002["ref"], tmp_path / "nope.safetensors")
    _one_line_error(code, err, "nope.safetensors", "no such file")
    index = tmp_path / "model.safetensors.index.json"
    index.write_text(json.dumps({"weight_map": {"a": "shard-1.safetensors"}}))
    code, _, err = cli("weights", "audit", seed002["ref"], index)
    _one_line_error(code, err, "shard-1.safetensors", "does not exist")
    index.write_text("{not json")
    code, _, err = cli("weights", "audit", seed002["ref"], index)
    _one_line_error(code, err, "not a checkpoint index")
    code, _, err = cli("weights", "quant", "--model", "no_such_module:f")
    _one_line_error(code, err, "cannot import")
    code, _, err = cli("weights", "quant")
    _one_line_error(code, err, "--model")
    rules = tmp_path / "rules.txt"
    rules.write_text("(unclosed -> x\n")
    code, _, err = cli("weights", "audit", seed002["ref"], seed002["port"], "--map", rules)
    _one_line_error(code, err, "rules.txt", "line 1")


def test_inputs_are_never_modified(seed002, cli, tmp_path):
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest()
              for p in (seed002["ref"], seed002["port"])}
    cli("weights", "audit", seed002["ref"], seed002["port"])
    cli("weights", "fix", seed002["ref"], seed002["port"], "--out", tmp_path / "o.safetensors")
    cli("weights", "quant", seed002["port"], "--type", "Q4_0")
    assert before == {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in before}
