"""A port that records only its top-k per step (a large vocabulary) is compared on top-1 and
the top-k overlap; KL needs both full distributions and is left out."""

from __future__ import annotations

import json

import numpy as np
from qwen3_numpy import MAX_NEW, Qwen3Numpy

from audioparity.generation import record_generation

K = 8


def _topk_port(talker, path, bug=None):
    """The NumPy port's greedy loop, recording ``(values, ids)`` of its top-K only."""
    port = Qwen3Numpy(talker.weights, talker.model.config, bug)
    ids = talker.prompt
    with record_generation(path, eos_token_id=talker.eos, max_new_tokens=MAX_NEW) as gen:
        for _ in range(MAX_NEW):
            logits = port.forward(ids, lambda name, value: None)
            top = np.argsort(-logits, axis=-1)[:, :K]
            token = top[:, 0]
            gen.end_step(token=token, topk=(np.take_along_axis(logits, top, -1), top))
            if token[0] == talker.eos:
                break
            ids = token.reshape(1, 1)
    return path


def test_topk_only_port_agrees_on_top1_and_overlap(cli, talker, tmp_path):
    code, out, _ = cli("compare", talker.greedy_ref, _topk_port(talker, tmp_path / "k.safetensors"),
                       "--json", "-")
    gen = json.loads(out)["generation"]
    assert code == 0 and gen["status"] == "parity"
    assert all(s["topk_overlap"] == 1.0 and s["kl"] is None for s in gen["steps"])  # exact


def test_topk_only_port_with_rope_bug_differs_at_step_zero(cli, talker, tmp_path):
    code, out, _ = cli("compare", talker.greedy_ref,
                       _topk_port(talker, tmp_path / "k.safetensors", "rope_interleaved"), "--json", "-")
    gen = json.loads(out)["generation"]
    assert code == 1 and gen["first_argmax_mismatch"]["step"] == 0
    assert gen["steps"][0]["topk_overlap"] < 1.0


def test_a_reference_recording_its_top_k_only(cli, talker, tmp_path):
    import torch

    from audioparity.generation import capture_generate

    ref = tmp_path / "ref_top.safetensors"
    capture_generate(talker.model, torch.from_numpy(talker.prompt), ref,
                     max_new_tokens=MAX_NEW, eos_token_id=talker.eos, record_top=K)
    code, out, _ = cli("compare", ref, talker.port("full_logits"), "--json", "-")
    gen = json.loads(out)["generation"]
    assert code == 0 and gen["status"] == "parity" and gen["kl_max"] is None
    code, out, _ = cli("compare", ref, talker.port("full_logits_rope", "rope_interleaved"),
                       "--json", "-")
    assert code == 1 and json.loads(out)["generation"]["first_argmax_mismatch"]["step"] == 0
