"""Checkpoint readers: sharded index sets, torch state dicts, .npz, MLX-written files."""

from __future__ import annotations

import json

import numpy as np
import torch
from weights_seed002 import build_reference, state_arrays

from audioparity.trace import write_trace
from audioparity.weights import audit_checkpoints, open_checkpoint
from audioparity.weights.keymap import load_rules


def _statuses(ref, port, rules=None):
    with open_checkpoint(ref) as r, open_checkpoint(port) as p:
        report = audit_checkpoints(r, p, rules)
    return report, {e.status for e in report.entries}


def test_sharded_index_set_reads_like_one_file(seed002, tmp_path):
    ref = state_arrays(seed002["model"])
    names = list(ref)
    shards = {"model-00001-of-00002.safetensors": names[: len(names) // 2],
              "model-00002-of-00002.safetensors": names[len(names) // 2:]}
    weight_map = {}
    for shard, members in shards.items():
        write_trace(tmp_path / shard, {n: ref[n] for n in members})
        weight_map.update(dict.fromkeys(members, shard))
    (tmp_path / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {}, "weight_map": weight_map}))
    with open_checkpoint(tmp_path) as ck:  # a directory holding the index
        assert sorted(ck.names) == sorted(names) and ck.format == "safetensors"
    report, statuses = _statuses(seed002["ref"], tmp_path / "model.safetensors.index.json")
    assert statuses == {"ok"} and not report.problems


def test_torch_state_dict_against_numpy_npz(tmp_path):
    model, _ = build_reference(seed=3)
    torch.save(model.state_dict(), tmp_path / "ref.pt")
    np.savez(tmp_path / "port.npz", **state_arrays(model))
    report, statuses = _statuses(tmp_path / "ref.pt", tmp_path / "port.npz")
    assert statuses == {"ok"} and not report.problems


def test_port_written_by_mlx_in_its_own_convention(seed002, tmp_path):
    import mlx.core as mx

    ref = state_arrays(seed002["model"])
    port = {}
    for name, arr in ref.items():
        a = mx.array(arr)
        if arr.ndim == 3:
            a = mx.moveaxis(a, 1, 2)  # what mlx-audio's sanitize does to Conv1d weights
        port[name] = a
    mx.save_safetensors(str(tmp_path / "mlx.safetensors"), port)
    report, statuses = _statuses(seed002["ref"], tmp_path / "mlx.safetensors")
    assert statuses == {"ok"}
    assert report.layout_summary["pytorch"] == 0 and report.layout_summary["convention"] == "mlx"


def test_llama_cpp_names_and_packed_qkv_are_matched_by_value(tmp_path):
    rng = np.random.default_rng(0)
    d = 32
    ref = {"model.embed_tokens.weight": rng.standard_normal((64, d)),
           "model.layers.0.self_attn.q_proj.weight": rng.standard_normal((d, d)),
           "model.layers.0.self_attn.k_proj.weight": rng.standard_normal((d // 2, d)),
           "model.layers.0.self_attn.v_proj.weight": rng.standard_normal((d // 2, d)),
           "model.layers.0.mlp.gate_proj.weight": rng.standard_normal((2 * d, d)),
           "model.layers.0.mlp.up_proj.weight": rng.standard_normal((2 * d, d))}
    ref = {k: v.astype(np.float32) for k, v in ref.items()}
    write_trace(tmp_path / "ref.safetensors", ref)
    port = {"token_embd.weight": ref["model.embed_tokens.weight"],
            "blk.0.attn_q.weight": ref["model.layers.0.self_attn.q_proj.weight"],
            "blk.0.attn_k.weight": ref["model.layers.0.self_attn.k_proj.weight"],
            "blk.0.attn_v.weight": ref["model.layers.0.self_attn.v_proj.weight"],
            "model.layers.0.mlp.gate_up_proj.weight": np.concatenate(
                [ref["model.layers.0.mlp.gate_proj.weight"],
                 ref["model.layers.0.mlp.up_proj.weight"]])}
    write_trace(tmp_path / "port.safetensors", port)
    with open_checkpoint(tmp_path / "ref.safetensors") as r, \
            open_checkpoint(tmp_path / "port.safetensors") as p:
        report = audit_checkpoints(r, p, load_rules("llama.cpp"))
    hows = {e.port[0]: e.how for e in report.entries}
    assert hows["blk.0.attn_q.weight"] == "map"
    assert hows["model.layers.0.mlp.gate_up_proj.weight"] == "packed"
    assert {e.status for e in report.entries} == {"ok"} and not report.problems
    fused_qkv = dict(port)
    fused_qkv["blk.0.attn_qkv.weight"] = np.concatenate(
        [fused_qkv.pop(f"blk.0.attn_{x}.weight") for x in "qkv"])
    write_trace(tmp_path / "qkv.safetensors", fused_qkv)
    rules = tmp_path / "rules.txt"
    rules.write_text(r"blk\.(\d+)\.attn_qkv\.weight -> model.layers.\1.self_attn.qkv_proj.weight"
                     "\n" + r"token_embd\.weight -> model.embed_tokens.weight" + "\n")
    with open_checkpoint(tmp_path / "ref.safetensors") as r, \
            open_checkpoint(tmp_path / "qkv.safetensors") as p:
        report = audit_checkpoints(r, p, load_rules(rules))
    packed = next(e for e in report.entries if e.port == ["blk.0.attn_qkv.weight"])
    assert packed.how == "packed" and packed.status == "ok" and len(packed.ref) == 3
