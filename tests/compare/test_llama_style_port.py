"""A correct port dumped llama.cpp-style aligns at parity with no map file; a planted bug is
found at its layer. No batch axis, split heads, tokens-first RoPE output, reused names,
``ffn_up`` before ``ffn_gate``: all read through the port conventions and value checks."""

from __future__ import annotations

import pytest
from llama_style import llama_dump

from audioparity.compare import compare_traces
from audioparity.errors import InputError
from audioparity.trace import write_trace

EXPECTED = {  # port tensor -> the reference tensor it must pair with
    "attn_norm-0": "model.layers.0.input_layernorm",
    "Qcur-0": "model.layers.0.self_attn.q_proj",
    "Kcur-1": "model.layers.1.self_attn.k_proj",
    "Vcur-2": "model.layers.2.self_attn.v_proj",
    "ffn_norm-1": "model.layers.1.post_attention_layernorm",
    "ffn_up-0": "model.layers.0.mlp.up_proj",
    "ffn_gate-0": "model.layers.0.mlp.gate_proj",
    "ffn_up-2": "model.layers.2.mlp.up_proj",
    "ffn_gate-2": "model.layers.2.mlp.gate_proj",
    "l_out-2": "model.layers.2",
    "result_norm": "model.norm",
}


@pytest.mark.parametrize("ref_kind", ["rich", "plain"])
def test_correct_llama_cpp_dump_is_parity_without_a_map(qwen3_pair, tmp_path, ref_kind):
    port = write_trace(tmp_path / "port.safetensors",
                       llama_dump(qwen3_pair["tensors"], qwen3_pair["sizes"]))
    result = compare_traces(qwen3_pair[ref_kind], port)
    assert result.status == "parity", [(e.name, e.port_name, e.detail) for e in result.failing]
    paired = {e.port_name: e.ref_name for e in result.entries}
    for port_name, ref_name in EXPECTED.items():
        assert paired.get(port_name) == ref_name, port_name
    assert any("no batch axis" in line for line in result.conventions)
    assert all(e.method != "name" for e in result.entries)
    q = next(e for e in result.entries if e.port_name == "Qcur-0")
    assert q.convention == "batch_axis+heads" and q.method.startswith("order")


def test_rope_output_is_read_tokens_first(qwen3_pair, tmp_path):
    port = write_trace(tmp_path / "port.safetensors",
                       llama_dump(qwen3_pair["tensors"], qwen3_pair["sizes"]))
    result = compare_traces(qwen3_pair["rich"], port)
    rope = next(e for e in result.entries if e.port_name == "Qcur-1#1")
    assert rope.ref_name == "model.layers.1.self_attn.apply_rotary_pos_emb"
    assert rope.convention == "batch_axis+tokens_first" and rope.ok


@pytest.mark.parametrize("ref_kind", ["rich", "plain"])
@pytest.mark.parametrize(("bug", "layer_tensor"), [
    ("ffn_up-1", "model.layers.1.mlp.up_proj"),
    ("ffn_gate-2", "model.layers.2.mlp.gate_proj"),
    ("attn_norm-2", "model.layers.2.input_layernorm"),
])
def test_planted_bug_in_llama_cpp_dump_is_found_at_its_layer(qwen3_pair, tmp_path, ref_kind,
                                                             bug, layer_tensor):
    tensors = llama_dump(qwen3_pair["tensors"], qwen3_pair["sizes"], bug={bug: 1.5})
    port = write_trace(tmp_path / "port.safetensors", tensors)
    result = compare_traces(qwen3_pair[ref_kind], port)
    assert result.status == "divergent"
    assert result.first_divergence.name == layer_tensor
    assert result.first_divergence.entry.port_name == bug
    assert result.first_divergence.causes[0].cause == "scale"


def test_strict_layout_compares_as_stored(qwen3_pair, tmp_path):
    """No convention: no llama.cpp tensor has the reference's shape, nothing aligns."""
    port = write_trace(tmp_path / "port.safetensors",
                       llama_dump(qwen3_pair["tensors"], qwen3_pair["sizes"]))
    with pytest.raises(InputError, match="no tensor in common"):
        compare_traces(qwen3_pair["plain"], port, strict_layout=True)


def test_reports_mark_guessed_pairs_and_conventions(qwen3_pair, tmp_path, cli):
    from html.parser import HTMLParser

    port = write_trace(tmp_path / "port.safetensors",
                       llama_dump(qwen3_pair["tensors"], qwen3_pair["sizes"]))
    code, out, err = cli("compare", qwen3_pair["plain"], port, "--depth", "0",
                         "--html", tmp_path / "r.html", "--json", tmp_path / "r.json")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("parity:")
    assert any(line.startswith("port has no batch axis") for line in lines[1:4])
    assert "aligned by / read as" in out and "order+value ← ffn_up-0" in out
    html = (tmp_path / "r.html").read_text()
    HTMLParser().feed(html)
    assert "<code>ffn_gate-1</code>" in html and "batch_axis+heads" in html
    assert 'id="conventions"' in html
    import json

    doc = json.loads((tmp_path / "r.json").read_text())
    entry = next(e for e in doc["entries"] if e["port_name"] == "Qcur-2")
    assert entry["aligned_by"].startswith("order") and entry["convention"] == "batch_axis+heads"
    assert doc["conventions"] and doc["status"] == "parity"


def test_strict_layout_flag_in_cli(qwen3_pair, tmp_path, cli):
    port = write_trace(tmp_path / "port.safetensors",
                       llama_dump(qwen3_pair["tensors"], qwen3_pair["sizes"]))
    code, _, err = cli("compare", qwen3_pair["plain"], port, "--strict-layout")
    assert code == 2 and "no tensor in common" in err and err.count("\n") == 1
