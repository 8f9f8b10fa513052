"""GGUF ports of tiny transformers Llama / Qwen3 models: Q/K rows in llama.cpp's RoPE order,
the metadata that changes numerics, and ``weights fix`` into a corrected GGUF.

The GGUF files are written in the test by :mod:`gguf_convert`, which follows llama.cpp's
``convert_hf_to_gguf.py`` (``LlamaModel.permute`` on q/k rows for ``llama`` only)."""

from __future__ import annotations

import doctest
import json

import gguf
import numpy as np
import pytest
from gguf_convert import convert, llama_permute, save_tiny_lm

from audioparity.weights import audit_checkpoints, open_checkpoint, rope_rows
from audioparity.weights.gguf_metadata import compare_metadata, load_config
from audioparity.weights.rope_rows import detect_row_order, order_index, permutation_index

N_QK = 4  # q and k projections of 2 layers


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_lms")
    return {kind: save_tiny_lm(kind, root / kind) for kind in ("llama", "qwen3")}


def _audit(model_dir, gguf_path):
    with open_checkpoint(model_dir) as ref, open_checkpoint(gguf_path) as port:
        return audit_checkpoints(ref, port, config=load_config(model_dir / "config.json"),
                                 config_path=str(model_dir / "config.json"))


def _qk(report):
    return [e for e in report.entries if e.row_order is not None]


def test_rope_rows_docstring_example_holds():
    failures, tried = doctest.testmod(rope_rows)
    assert tried >= 3 and failures == 0  # exact: counts


def test_permutation_index_is_the_converters_permute():
    w = np.arange(64 * 3, dtype=np.float32).reshape(64, 3)
    # q: 4 heads of 16 rows; k (GQA): 2 heads of 16 rows in 32 rows, n_head=4 given
    assert np.array_equal(w[permutation_index(64, 16)], llama_permute(w, 4, 4))  # exact
    assert np.array_equal(w[:32][permutation_index(32, 16)], llama_permute(w[:32], 4, 2))  # exact
    twice = llama_permute(llama_permute(w, 4, 4), 4, 4)
    assert np.array_equal(w[order_index(64, 16, "permuted_twice")], twice)  # exact
    assert detect_row_order(w, twice, 16).name == "permuted_twice"
    assert detect_row_order(w, w + 0.5, 16).name == "reference"  # nothing fits: no claim


@pytest.mark.parametrize("qtype", ["F32", "Q8_0"])
@pytest.mark.parametrize("kind,order", [("llama", "permuted"), ("qwen3", "reference")])
def test_converted_gguf_audits_clean_with_qk_rows_aligned(models, tmp_path, kind, order, qtype):
    path = convert(models[kind], tmp_path / f"{kind}.gguf", qtype)
    report = _audit(models[kind], path)
    assert report.status == "parity", report.problems
    assert report.architecture == kind
    assert report.row_summary["by_order"] == {order: N_QK}
    for e in _qk(report):
        assert e.status == "ok" and e.rel_l2 <= e.expected_rel
        if qtype == "F32":
            assert e.rel_l2 < 1e-6
    assert all(m["ok"] for m in report.metadata) and len(report.metadata) == 6


@pytest.mark.parametrize("kind,times,order,words", [
    ("llama", 2, "permuted_twice", "was applied twice"),
    ("llama", 0, "reference", "is missing"),
    ("qwen3", 1, "permuted", "which this architecture does not want"),
])
def test_wrong_qk_row_order_is_named_with_the_fix(models, tmp_path, cli, kind, times, order,
                                                  words):
    path = convert(models[kind], tmp_path / "bad.gguf", permute_times=times)
    report = _audit(models[kind], path)
    assert report.status == "divergent"
    assert report.row_summary["by_order"] == {order: N_QK}
    assert all(e.status == "ok" for e in _qk(report))  # the values are right, the order not
    (problem,) = report.problems
    assert words in problem and "blk.0.attn_q.weight" in problem
    assert "weights fix" in problem and f"'{kind}' runs" in problem
    code, out, _ = cli("weights", "audit", models[kind], path, "--json", "-")
    assert code == 1 and json.loads(out)["status"] == "divergent"


@pytest.mark.parametrize("key,value,config_key,expected", [
    ("rope.freq_base", 10000.0, "rope_theta", "500000"),
    ("attention.layer_norm_rms_epsilon", 1e-6, "rms_norm_eps", "1e-05"),
    ("attention.head_count_kv", 4, "num_key_value_heads", "2"),
    ("attention.layer_norm_rms_epsilon", None, "rms_norm_eps", "1e-05"),
])
def test_wrong_gguf_metadata_is_named_with_the_value_to_set(models, tmp_path, key, value,
                                                            config_key, expected):
    path = convert(models["llama"], tmp_path / "meta.gguf", metadata={f"{{arch}}.{key}": value})
    report = _audit(models["llama"], path)
    assert report.status == "divergent"
    (bad,) = [m for m in report.metadata if not m["ok"]]
    assert bad["key"] == f"llama.{key}" and bad["config_key"] == config_key
    assert f"set llama.{key} = {expected}" in bad["fix"]
    (problem,) = report.problems
    assert f"llama.{key} = {'absent' if value is None else ''}" in problem
    assert f"{config_key} = {expected}" in problem


@pytest.mark.parametrize("qtype", ["F32", "Q8_0"])
def test_fix_writes_a_gguf_that_audits_clean(models, tmp_path, cli, qtype):
    bad = convert(models["llama"], tmp_path / "bad.gguf", qtype, permute_times=2,
                  metadata={"{arch}.rope.freq_base": 10000.0, "{arch}.context_length": 4096})
    out = tmp_path / "fixed.gguf"
    code, _, err = cli("weights", "fix", models["llama"], bad, "--out", out)
    assert code == 0, err
    log = json.loads((tmp_path / "fixed.gguf.fixlog.json").read_text())
    assert log["status"] == "ok" and not log["not_fixed"]
    assert log["changed"] == N_QK + 2 and log["written"] == 21  # exact: counts
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.gguf", "fixed.gguf",
                                                          "fixed.gguf.fixlog.json"]
    report = _audit(models["llama"], out)
    assert report.status == "parity", report.problems
    assert report.row_summary["by_order"] == {"permuted": N_QK}
    good = gguf.GGUFReader(convert(models["llama"], tmp_path / "good.gguf", qtype))
    fixed = gguf.GGUFReader(out)
    for a, b in zip(good.tensors, fixed.tensors):  # rows moved as stored, no requantizing
        assert a.name == b.name and a.tensor_type == b.tensor_type
        assert np.array_equal(np.asarray(a.data), np.asarray(b.data)), a.name  # exact
    code, _, err = cli("weights", "fix", models["llama"], bad, "--out", out)
    assert code == 2 and "exists" in err
    other = convert(models["qwen3"], tmp_path / "other.gguf", qtype)  # another model's values
    code, out_json, _ = cli("weights", "fix", models["llama"], other, "--out",
                            tmp_path / "other-fixed.gguf", "--json", "-")
    log = json.loads(out_json)
    assert code == 1 and log["status"] == "problem" and log["not_fixed"]


def test_fix_to_safetensors_puts_qk_rows_in_reference_order(models, tmp_path, cli):
    path = convert(models["llama"], tmp_path / "llama.gguf")
    out = tmp_path / "hf.safetensors"
    code, _, err = cli("weights", "fix", models["llama"], path, "--out", out)
    assert code == 0, err
    with open_checkpoint(models["llama"]) as ref, open_checkpoint(out) as fixed:
        report = audit_checkpoints(ref, fixed)
        assert report.status == "parity" and report.row_summary["checked"] == 0
        name = "model.layers.0.self_attn.q_proj.weight"
        assert np.array_equal(ref.read(name), fixed.read(name))  # exact: F32 copied


def test_truncated_gguf_and_config_not_json_are_one_line_errors(models, tmp_path, cli):
    path = convert(models["llama"], tmp_path / "llama.gguf")
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(path.read_bytes()[:2000])
    code, _, err = cli("weights", "audit", models["llama"], cut)
    assert code == 2 and err.count("\n") == 1 and "cut.gguf" in err and "Traceback" not in err
    config = tmp_path / "config.json"
    config.write_text("{ not json")
    code, _, err = cli("weights", "audit", models["llama"], path, "--config", config)
    assert code == 2 and err.count("\n") == 1 and "config.json" in err
    assert "not a JSON config" in err


def test_rope_scaling_and_sliding_window_follow_the_config():
    # a transformers 4 style config (rope_theta, rope_scaling) of a YaRN, sliding-window model
    config = {"rope_theta": 1e6, "rms_norm_eps": 1e-6, "num_attention_heads": 4,
              "num_key_value_heads": 2, "sliding_window": 4096, "use_sliding_window": True,
              "rope_scaling": {"type": "yarn", "factor": 4.0,
                               "original_max_position_embeddings": 32768}}
    meta = {"general.architecture": "qwen2", "qwen2.rope.freq_base": 1e6,
            "qwen2.attention.layer_norm_rms_epsilon": float(np.float32(1e-6)),
            "qwen2.attention.head_count": 4, "qwen2.attention.head_count_kv": [2, 2],
            "qwen2.rope.scaling.type": "yarn", "qwen2.rope.scaling.factor": 4.0,
            "qwen2.rope.scaling.original_context_length": 32768,
            "qwen2.attention.sliding_window": 4096}
    checks = compare_metadata(meta, config)
    assert len(checks) == 8 and all(c.ok for c in checks)
    meta["qwen2.rope.scaling.factor"] = 2.0
    del meta["qwen2.attention.sliding_window"]
    meta["qwen2.attention.head_count_kv"] = [2, 4]  # per-layer counts: one layer wrong
    bad = {c.key: c for c in compare_metadata(meta, config) if not c.ok}
    assert sorted(bad) == ["qwen2.attention.head_count_kv", "qwen2.attention.sliding_window",
                           "qwen2.rope.scaling.factor"]
    assert bad["qwen2.attention.sliding_window"].gguf is None
    assert "set qwen2.rope.scaling.factor = 4" in bad["qwen2.rope.scaling.factor"].fix("m.gguf")
    config["use_sliding_window"] = False  # the window is not used: nothing to compare
    assert "qwen2.attention.sliding_window" not in {c.key for c in
                                                    compare_metadata(meta, config)}


def test_stored_quantization_of_a_llama_gguf_measures_qk_in_reference_rows(models, tmp_path,
                                                                           cli):
    path = convert(models["llama"], tmp_path / "llama-q8_0.gguf", "Q8_0")
    code, out, err = cli("weights", "quant", path, "--ref", models["llama"], "--json", "-")
    data = json.loads(out)
    assert code == 0 and data["status"] == "ok", err
    rows = {r["name"]: r for r in data["tensors"]}
    assert len(rows) == 16 and all(r["sqnr_db"] > 40 for r in rows.values())  # Q8_0: ~45 dB
    qk = [r for n, r in rows.items() if "q_proj" in n or "k_proj" in n]
    assert len(qk) == N_QK and all(r["note"] == "Q/K rows permuted, undone" for r in qk)
