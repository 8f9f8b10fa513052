"""Greedy generation of a tiny transformers Qwen3 talker against a NumPy port with a KV cache:
parity at every step and layer when correct; a wrong first token (interleaved RoPE) named at
step 0 with its layer and cause; a suppressed EOS (the port never stops) told apart by the
stop reasons and the length ratio."""

from __future__ import annotations

import json

from qwen3_numpy import MAX_NEW


def _compare(cli, talker, port, *extra):
    code, out, err = cli("compare", talker.greedy_ref, port, "--json", "-", *extra)
    return code, json.loads(out), err


def test_correct_port_is_parity_at_every_step_and_layer(cli, talker):
    code, result, err = _compare(cli, talker, talker.port("greedy_ok"))
    gen = result["generation"]
    assert code == 0, gen["headline"] + err
    assert result["status"] == "parity" and gen["status"] == "parity"
    assert gen["stop"]["ref"]["kind"] == gen["stop"]["port"]["kind"] == "eos"
    assert gen["compared_steps"] == gen["ref_steps"] == gen["port_steps"]
    assert gen["top1_agreement"] == 1.0 and gen["kl_max"] < 1e-6  # exact: a fraction of steps
    steps = {e["name"].split("/")[0] for e in result["entries"]}
    assert steps == {f"@{k}" for k in range(gen["ref_steps"])}  # every step's layers
    assert all(e["ok"] for e in result["entries"])


def test_interleaved_rope_is_named_at_step_zero_with_its_layer(cli, talker):
    code, result, _ = _compare(cli, talker, talker.port("greedy_rope", "rope_interleaved"))
    gen = result["generation"]
    assert code == 1 and result["status"] == "divergent"
    assert gen["first_argmax_mismatch"]["step"] == 0
    assert gen["first_argmax_mismatch"]["kl"] > gen["kl_tol"]
    first = result["first_divergence"]
    assert first["name"] == "@0/model.layers.0.self_attn.apply_rotary_pos_emb"
    assert first["causes"][0]["cause"] == "rope_variant"
    # later steps were fed another token: the per-tensor table stops at step 0
    assert {e["name"].split("/")[0] for e in result["entries"]} == {"@0"}
    confidence = first["causes"][0]["confidence"]
    assert gen["why"][0] == ("wrong from the first token: the prompt's forward pass first "
                             f"differs at {first['name']} (rope_variant, {confidence:.2f})")


def test_rope_terminal_report_says_step_and_layer(cli, talker):
    code, out, _ = cli("compare", talker.greedy_ref, talker.port("greedy_rope_t",
                                                                 "rope_interleaved"))
    assert code == 1
    assert "first argmax differs at step 0" in out
    assert "@0/model.layers.0.self_attn.apply_rotary_pos_emb" in out and "rope_variant" in out


def test_suppressed_eos_runs_to_the_length_limit(cli, talker):
    code, result, _ = _compare(cli, talker, talker.port("greedy_no_eos", "eos_suppressed"))
    gen = result["generation"]
    assert code == 1 and gen["status"] == "divergent"
    ref_stop, port_stop = gen["stop"]["ref"], gen["stop"]["port"]
    assert ref_stop["kind"] == "eos" and port_stop["kind"] == "length"
    assert port_stop["steps"] == MAX_NEW  # exact: a count
    mismatch = gen["first_argmax_mismatch"]
    assert mismatch["step"] == ref_stop["eos_step"] and mismatch["ref_token"] == talker.eos
    assert gen["length_ratio"] == MAX_NEW / ref_stop["steps"]  # exact: a ratio of counts
    assert any("masks EOS" in w for w in gen["why"])
    assert any("never emits EOS" in w for w in gen["why"])
    assert all(e["ok"] for e in result["entries"])  # the layers agree: the bug is the choice


def test_html_report_draws_the_step_chart(cli, talker, tmp_path):
    html = tmp_path / "report.html"
    code, _, _ = cli("compare", talker.greedy_ref, talker.port("greedy_no_eos_h",
                                                               "eos_suppressed"),
                     "--html", html)
    text = html.read_text()
    assert code == 1
    assert 'class="step-chart"' in text and 'id="s0-generation-chart"' in text
    assert "first differing step" in text and "length limit" in text
    assert "port masks EOS" in text


def test_combined_report_of_the_json_draws_the_step_chart(cli, talker, tmp_path):
    result = tmp_path / "compare.json"
    cli("compare", talker.greedy_ref, talker.port("greedy_rope_j", "rope_interleaved"),
        "--json", result)
    code, _, _ = cli("report", result, "-o", tmp_path / "all.html")
    text = (tmp_path / "all.html").read_text()
    assert code == 1 and 'class="step-chart"' in text
    assert "first differing step 0" in text and "rope_variant" in text


def test_a_kv_cache_that_keeps_only_the_prompt_is_located_at_step_two(cli, talker):
    code, result, _ = _compare(cli, talker, talker.port("greedy_stale", "stale_cache"))
    gen = result["generation"]
    assert code == 1 and gen["status"] == "divergent"
    # step 1 needs only the prompt's cache: step 2 is the first to miss a stored step
    assert gen["first_logits_divergence"]["step"] == 2
    assert gen["first_logits_divergence"]["kl"] > gen["kl_tol"]
    first = result["first_divergence"]["name"]
    assert first == "@2/model.layers.0.self_attn.o_proj"  # attention, where the cache is read
    assert gen["why"][0] == f"step 2's first divergent tensor: {first}"
    assert "logits first differ at step 2" in gen["headline"]
