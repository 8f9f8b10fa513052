"""Map files, one contract (port -> reference) for compare and weights; bad input is exit 2
with one line, a rule that pairs nothing is a note; the suggested map round-trips."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest
from llama_style import llama_dump

from audioparity.compare import compare_traces, load_rules
from audioparity.errors import InputError
from audioparity.trace import write_trace

BLK_MAP = "regex:\n  - ['^blk\\.(\\d+)\\.', 'model.layers.\\1.']\n"


def _blk(name: str) -> str:
    return re.sub(r"^model\.layers\.(\d+)\.", r"blk.\1.", name)


def _one_line_error(code, err, *needles):
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err


def test_one_map_file_serves_compare_and_weights(ref_path, ref_tensors, tmp_path, cli):
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    rules = tmp_path / "map.yaml"
    rules.write_text(BLK_MAP)
    port = write_trace(tmp_path / "p.safetensors", {_blk(n): a for n, a in ref_tensors.items()})
    result = compare_traces(ref_path, port, rules, by_order=False)
    assert result.status == "parity" and not result.unmatched_port
    assert {e.method for e in result.entries if e.port_name.startswith("blk.")} == {"map"}

    torch.manual_seed(0)
    model = Qwen3ForCausalLM(Qwen3Config(vocab_size=64, hidden_size=16, intermediate_size=32,
                                         num_hidden_layers=2, num_attention_heads=2,
                                         num_key_value_heads=1, head_dim=8))
    state = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    write_trace(tmp_path / "ref_w.safetensors", state)
    write_trace(tmp_path / "port_w.safetensors", {_blk(k): v for k, v in state.items()})
    code, out, err = cli("weights", "audit", tmp_path / "ref_w.safetensors",
                         tmp_path / "port_w.safetensors", "--map", rules, "--json", "-")
    assert code == 0, err
    counts = json.loads(out)["counts"]
    assert not counts.get("missing") and not counts.get("unexpected")


@pytest.mark.parametrize("command", ["compare", "weights"])
def test_unknown_map_key_is_exit_2_naming_it(ref_path, tmp_path, cli, command):
    rules = tmp_path / "map.yaml"
    rules.write_text("pairs: {}\nrenames:\n  a: b\n")
    args = ("compare", ref_path, ref_path) if command == "compare" else (
        "weights", "audit", ref_path, ref_path)
    code, _, err = cli(*args, "--map", rules)
    _one_line_error(code, err, "map.yaml", "'renames'")


def test_two_pairs_claiming_one_reference_tensor_is_exit_2(ref_path, tmp_path, cli):
    rules = tmp_path / "map.yaml"
    rules.write_text("pairs:\n  a: model.norm\n  b: model.norm\n")
    code, _, err = cli("compare", ref_path, ref_path, "--map", rules)
    _one_line_error(code, err, "'a'", "'b'", "model.norm")


def test_two_rules_sending_two_port_tensors_to_one_is_exit_2(ref_path, ref_tensors, tmp_path):
    tensors = {("dup." + n if n == "model.norm" else n): a for n, a in ref_tensors.items()}
    tensors["model.norm.copy"] = ref_tensors["model.norm"]
    port = write_trace(tmp_path / "p.safetensors", tensors)
    rules = tmp_path / "map.yaml"
    rules.write_text("strip_prefix: 'dup.'\nregex:\n  - ['^model\\.norm\\.copy$', 'model.norm']\n")
    with pytest.raises(InputError, match=r"'dup.model.norm'.*'model.norm.copy'.*model.norm"):
        compare_traces(ref_path, port, rules)


def test_rule_that_pairs_nothing_is_a_note(ref_path, ref_tensors, tmp_path, cli):
    port = write_trace(tmp_path / "p.safetensors", dict(ref_tensors))
    rules = tmp_path / "map.yaml"
    rules.write_text("rename:\n  'enc.{i}.conv': 'encoder.{i}.conv'\n")
    code, out, _ = cli("compare", ref_path, port, "--map", rules)
    assert code == 0
    assert "note: map rule rename 'enc.{i}.conv' paired no tensor" in out


@pytest.mark.parametrize("text", ["tolerances:\n  '*': {rtol: -1}\n",
                                  "tolerances:\n  '*': {rtol: 1e-3, atl: 1}\n",
                                  "regex:\n  - ['(unclosed', 'x']\n",
                                  "regex:\n  - 'no pair'\n"])
def test_malformed_rules_are_exit_2(ref_path, tmp_path, cli, text):
    rules = tmp_path / "map.yaml"
    rules.write_text(text)
    code, _, err = cli("compare", ref_path, ref_path, "--map", rules)
    _one_line_error(code, err, "map.yaml")


@pytest.mark.parametrize("flag", [("--rtol", "-1"), ("--atol", "-0.5"), ("--rtol", "nan")])
def test_negative_tolerance_is_exit_2(ref_path, cli, flag):
    code, _, err = cli("compare", ref_path, ref_path, *flag)
    _one_line_error(code, err, flag[0])


def test_suggested_map_round_trips(qwen3_pair, tmp_path, cli):
    port = write_trace(tmp_path / "port.safetensors",
                       llama_dump(qwen3_pair["tensors"], qwen3_pair["sizes"]))
    suggested = tmp_path / "suggested.yaml"
    code, _, err = cli("compare", qwen3_pair["plain"], port, "--suggest-map", suggested)
    assert code == 0, err
    text = suggested.read_text()
    assert '"ffn_up-0": "model.layers.0.mlp.up_proj"  # order+value' in text
    rules = load_rules(suggested)
    result = compare_traces(qwen3_pair["plain"], port, rules, by_order=False)
    assert result.status == "parity"
    assert {e.method for e in result.entries} == {"map"}
    assert result.to_json()["entries"][0]["convention"] == "batch_axis"


def test_undecodable_tensor_names_do_not_break_json_or_html(tmp_path, cli):
    """Names that are not UTF-8 (an npy directory written by a C++ port) reach the reports
    as U+FFFD, never as a crash or lone surrogates in the JSON."""
    rng = np.random.default_rng(0)
    for side in ("ref", "port"):
        folder = tmp_path / side
        folder.mkdir()
        for k, raw in enumerate([b"layer\xff.0", b"layer\xfe.1"]):
            arr = rng.standard_normal((4, 8)).astype(np.float32) if side == "ref" else \
                np.load(tmp_path / "ref" / os.fsdecode(raw + b".npy"))
            if side == "port" and k == 1:
                arr = arr * 2
            with open(os.path.join(os.fsencode(folder), raw + b".npy"), "wb") as fh:
                np.save(fh, arr)
    code, _, err = cli("compare", tmp_path / "ref", tmp_path / "port", "--json",
                       tmp_path / "r.json", "--html", tmp_path / "r.html")
    assert code == 1, err
    raw_json = (tmp_path / "r.json").read_bytes()
    doc = json.loads(raw_json.decode("utf-8"))
    assert doc["first_divergence"]["name"] == "layer\ufffd.1"
    assert "\ufffd" in (tmp_path / "r.html").read_text(encoding="utf-8")
