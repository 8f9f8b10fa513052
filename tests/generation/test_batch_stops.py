"""A batch whose sequences stop at different steps: the generation headline and the
terminal name each sequence's stop; a port loop that ends the batch when sequence 0 emits
EOS is divergent with its sequence 1 named — not parity because sequence 0 agrees."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from qwen3_numpy import MAX_NEW, Qwen3Numpy, generate_batch

from audioparity.generation import capture_generate, record_generation

PROMPTS = [[3, 17, 5, 42, 8, 1], [9, 2, 77, 31, 4, 60]]


@pytest.fixture(scope="module")
def batch_ref(talker, tmp_path_factory):
    """transformers' ``generate`` on two prompts: sequence 0 emits EOS mid-way (padded with
    EOS after it), sequence 1 runs on."""
    path = tmp_path_factory.mktemp("batch") / "ref.safetensors"
    capture_generate(talker.model, torch.tensor(PROMPTS), path, max_new_tokens=MAX_NEW,
                     eos_token_id=talker.eos)
    return path


def _compare(cli, talker, batch_ref, tmp_path, stop_with_first):
    port = tmp_path / "port.safetensors"
    ports = [Qwen3Numpy(talker.weights, talker.model.config) for _ in PROMPTS]
    with record_generation(port, eos_token_id=talker.eos, max_new_tokens=MAX_NEW) as gen:
        generate_batch(ports, np.array(PROMPTS), gen, max_new_tokens=MAX_NEW,
                       eos=talker.eos, stop_with_first=stop_with_first)
    code, out, _ = cli("compare", batch_ref, port, "--json", tmp_path / "c.json")
    gen = json.loads((tmp_path / "c.json").read_text())["generation"]
    return code, out, gen, [(s["ref"], s["port"], s["differ"]) for s in gen["stop"]["sequences"]]


def test_a_batch_whose_sequences_stop_apart_names_each_stop(cli, talker, batch_ref, tmp_path):
    code, out, gen, stops = _compare(cli, talker, batch_ref, tmp_path, stop_with_first=False)
    assert code == 0 and gen["status"] == "parity", out
    (ref0, _, differ0), (ref1, _, differ1) = stops
    assert ref0["kind"] == "eos" and ref1["kind"] != "eos"  # the batch stops apart
    assert not differ0 and not differ1
    assert gen["headline"].endswith(f"sequence 0: {ref0['describe']}; "
                                    f"sequence 1: {ref1['describe']}")
    assert f"stop, sequence 1: ref and port {ref1['describe']}" in out


def test_a_port_loop_ending_the_batch_with_sequence_0_is_divergent_at_sequence_1(
        cli, talker, batch_ref, tmp_path):
    code, out, gen, stops = _compare(cli, talker, batch_ref, tmp_path, stop_with_first=True)
    assert code == 1 and gen["status"] == "divergent", out
    (ref0, _, differ0), (ref1, port1, differ1) = stops
    assert not differ0 and differ1  # sequence 0 stops as the reference: not enough
    assert port1["kind"] == "ended" and port1["steps"] == ref0["eos_step"] + 1
    assert gen["first_token_mismatch"] is None  # every step it ran agrees
    assert gen["headline"] == (f"generation divergent: stop, sequence 1: ref "
                               f"{ref1['describe']}, port {port1['describe']}")
    assert f"stop, sequence 1: ref {ref1['describe']}; port {port1['describe']}" in out


def test_the_html_report_lists_each_sequence_stop(cli, talker, batch_ref, tmp_path):
    _compare(cli, talker, batch_ref, tmp_path, stop_with_first=True)
    code, _, err = cli("report", tmp_path / "c.json", "--out", tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert code == 1, err
    assert "<dt>sequence 0 stop</dt>" in html and "<dt>sequence 1 stop</dt>" in html
    assert '<dd class="bad">reference length limit' in html and "port ended after" in html


def test_a_large_batch_keeps_the_headline_short(tmp_path):
    """Eight sequences stopping at six different steps: three stops named, the rest
    counted; both sides alike, so parity."""
    from audioparity.generation import compare_generation
    from audioparity.trace import open_trace

    vocab, eos, steps = 12, 11, 9
    stop_at = [2, 3, 3, 4, 5, 6, 7, 3]  # EOS step of each sequence
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(steps, len(stop_at), vocab)).astype(np.float32)
    logits[..., eos] = -5.0
    for b, k in enumerate(stop_at):
        logits[k:, b, eos] = 5.0
    traces = []
    for side in ("ref", "port"):
        with record_generation(tmp_path / f"{side}.safetensors", eos_token_id=eos,
                               max_new_tokens=steps) as gen:
            for k in range(max(stop_at) + 1):
                gen.end_step(token=logits[k].argmax(-1), logits=logits[k])
        traces.append(open_trace(tmp_path / f"{side}.safetensors"))
    result = compare_generation(*traces)
    assert result.status == "parity"
    assert result.headline() == (
        "generation parity: 8 steps, same tokens, sequence 0: EOS at step 2; "
        "sequences 1, 2, 7: EOS at step 3; sequence 3: EOS at step 4; +3 other stops "
        "(see --json)")
