"""Compare on a real captured Qwen3 trace: parity, first divergence, alignment, tolerances."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from audioparity.compare import compare_traces, pair_metrics
from audioparity.trace import write_trace


def _noise(x, rel=1e-6, seed=0):
    rng = np.random.default_rng(seed)
    if not np.issubdtype(x.dtype, np.floating):
        return x
    return (x + rel * np.abs(x).max() * rng.standard_normal(x.shape)).astype(x.dtype)


def test_f32_reordering_noise_is_parity(ref_path, ref_tensors, tmp_path):
    port = write_trace(tmp_path / "p.safetensors",
                       {n: _noise(a) for n, a in ref_tensors.items()})
    result = compare_traces(ref_path, port)
    assert result.status == "parity"
    assert all(e.ok for e in result.entries) and len(result.entries) == len(ref_tensors)


@pytest.mark.parametrize("layer", [0, 1, 2])
@pytest.mark.parametrize("module", ["self_attn.o_proj", "mlp.down_proj", "post_attention_layernorm"])
def test_first_divergence_is_the_perturbed_module(ref_path, ref_tensors, tmp_path, layer, module):
    bad = f"model.layers.{layer}.{module}"
    tensors = dict(ref_tensors)
    tensors[bad] = tensors[bad] * 1.05
    port = write_trace(tmp_path / "p.safetensors", tensors)
    result = compare_traces(ref_path, port, explain="none")
    assert result.status == "divergent"
    assert result.first_divergence.name == bad
    names = [e.name for e in result.entries]
    assert result.first_divergence.last_good == names[names.index(bad) - 1]


def test_llama_cpp_names_align_with_a_map_file(ref_path, ref_tensors, tmp_path):
    def rename(n):
        n = re.sub(r"^model\.layers\.(\d+)\.self_attn\.(\w)_proj$", r"blk.\1.attn_\2", n)
        return re.sub(r"^model\.layers\.(\d+)\.", r"blk.\1.", n)

    tensors = {rename(n): a for n, a in ref_tensors.items()}
    tensors["blk.1.attn_v"] = tensors["blk.1.attn_v"] + 0.5
    port = write_trace(tmp_path / "p.safetensors", tensors)
    rules = tmp_path / "map.yaml"
    rules.write_text('rename:\n  "blk.{i}.attn_{p}": "model.layers.{i}.self_attn.{p}_proj"\n'
                     'regex:\n  - ["^blk\\\\.(\\\\d+)\\\\.", "model.layers.\\\\1."]\n')
    result = compare_traces(ref_path, port, rules, by_order=False)
    assert not result.unmatched_ref and not result.unmatched_port
    assert result.first_divergence.name == "model.layers.1.self_attn.v_proj"
    assert result.first_divergence.entry.port_name == "blk.1.attn_v"


def test_renamed_port_aligns_by_order_and_shape_without_a_map(ref_path, ref_tensors, tmp_path):
    tensors = {re.sub(r"^model\.layers\.(\d+)\.", r"blk.\1.", n): a
               for n, a in ref_tensors.items()}
    del tensors["blk.0.mlp.act_fn"]  # the port lacks one entry
    tensors["blk.2.mlp.down_proj"] = tensors["blk.2.mlp.down_proj"] * 0.9
    port = write_trace(tmp_path / "p.safetensors", tensors)
    result = compare_traces(ref_path, port)
    assert result.unmatched_ref == ["model.layers.0.mlp.act_fn"]
    assert result.first_divergence.name == "model.layers.2.mlp.down_proj"
    by_method = {e.method for e in result.entries}
    assert "order+value" in by_method  # renamed pairs, placed by order, checked by values


def test_wrapper_prefix_aligns_by_suffix(ref_path, ref_tensors, tmp_path):
    port = write_trace(tmp_path / "p.safetensors",
                       {f"wrapper.{n}" if n != "output" else n: a for n, a in ref_tensors.items()})
    result = compare_traces(ref_path, port, by_order=False)
    assert result.status == "parity" and not result.unmatched_ref


def test_bf16_port_gets_a_bf16_tolerance(ref_path, ref_tensors, tmp_path):
    from audioparity.trace import TraceWriter

    with TraceWriter(tmp_path / "p.safetensors") as w:
        for n, a in ref_tensors.items():
            w.add(n, a, dtype="bfloat16" if a.dtype == np.float32 else None)
    result = compare_traces(ref_path, tmp_path / "p.safetensors")
    assert result.status == "parity"
    assert {e.tolerance_source for e in result.entries if e.port_dtype == "bfloat16"} == {
        "bfloat16 default"}
    strict = compare_traces(ref_path, tmp_path / "p.safetensors", rtol=1e-6, atol=0)
    assert strict.status == "divergent"


def test_shape_mismatch_and_nan_are_reported_not_crashes(ref_path, ref_tensors, tmp_path):
    tensors = dict(ref_tensors)
    name = "model.layers.1.mlp.gate_proj"
    tensors[name] = np.swapaxes(tensors[name], 1, 2).copy()
    nan_name = "model.layers.2.mlp.up_proj"
    tensors[nan_name] = tensors[nan_name].copy()
    tensors[nan_name][0, 0, 0] = np.nan
    port = write_trace(tmp_path / "p.safetensors", tensors)
    result = compare_traces(ref_path, port, by_order=False)
    entry = next(e for e in result.entries if e.name == name)
    assert entry.status == "shape" and entry.detail == "shape (1, 8, 64) vs (1, 64, 8)"
    assert result.first_divergence.name == name
    nan_entry = next(e for e in result.entries if e.name == nan_name)
    assert nan_entry.status == "nonfinite" and nan_entry.metrics.port_nan == 1


def test_metrics_match_a_direct_numpy_computation():
    rng = np.random.default_rng(3)
    r = rng.standard_normal((64, 300)).astype(np.float32)
    p = r + 0.01 * rng.standard_normal(r.shape).astype(np.float32)
    m = pair_metrics(r, p, chunk=1000)
    d = p.astype(np.float64) - r
    assert m.max_abs == pytest.approx(np.abs(d).max())
    assert m.rel_l2 == pytest.approx(np.linalg.norm(d) / np.linalg.norm(r))
    assert m.snr_db == pytest.approx(20 * np.log10(np.linalg.norm(r) / np.linalg.norm(d)))
    r64, p64 = r.astype(np.float64).ravel(), p.astype(np.float64).ravel()
    cos = (r64 @ p64) / np.linalg.norm(r64) / np.linalg.norm(p64)
    assert m.cosine == pytest.approx(cos, abs=1e-9)


def test_cli_table_json_and_exit_codes(ref_path, ref_tensors, tmp_path, cli):
    tensors = dict(ref_tensors)
    tensors["model.layers.1.mlp"] = tensors["model.layers.1.mlp"] * 2
    port = write_trace(tmp_path / "p.safetensors", tensors)
    code, out, err = cli("compare", ref_path, port, "--json", tmp_path / "r.json", "--depth", 3)
    assert code == 1, err
    assert "FIRST DIVERGES" in out and "model.layers.1.mlp" in out
    assert "model.layers.0" in out and "SNR dB" in out
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["status"] == "divergent"
    assert doc["first_divergence"]["name"] == "model.layers.1.mlp"
    assert isinstance(doc["first_divergence"]["causes"], list)
    keys = {"name", "ref_name", "port_name", "shape", "max_abs", "rel_l2", "cosine", "snr_db", "ok"}
    assert keys <= set(doc["entries"][0])
    code, out, _ = cli("compare", ref_path, ref_path, "--json", "-")
    assert code == 0 and json.loads(out)["status"] == "parity"


def test_html_report_names_the_first_divergence(ref_path, ref_tensors, tmp_path, cli):
    from html.parser import HTMLParser

    tensors = dict(ref_tensors)
    tensors["model.norm"] = tensors["model.norm"] + 1
    port = write_trace(tmp_path / "p.safetensors", tensors)
    code, _, err = cli("compare", ref_path, port, "--html", tmp_path / "r.html")
    assert code == 1, err
    html = (tmp_path / "r.html").read_text()
    HTMLParser().feed(html)
    assert 'class="first"' in html and "<code>model.norm</code>" in html
