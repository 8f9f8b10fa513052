"""``capture_generate`` records what ``generate`` did: the same tokens as a plain greedy
``generate``, one ``@k/`` step of layers per token, finished sequences of a batch padded
with EOS, sampled tokens reproducible from the recorded draws."""

from __future__ import annotations

import numpy as np
import torch
from qwen3_numpy import MAX_NEW

from audioparity.generation import capture_generate
from audioparity.generation.names import parse_step
from audioparity.trace import open_trace


def _tokens(trace):
    steps = sorted(parse_step(n)[0] for n in trace.names if n.endswith("/gen.token"))
    return np.stack([trace.read(f"@{k}/gen.token") for k in steps], axis=1)  # [B, steps]


def test_greedy_capture_changes_nothing(talker):
    plain = talker.model.generate(torch.from_numpy(talker.prompt), do_sample=False,
                                  max_new_tokens=MAX_NEW, eos_token_id=talker.eos,
                                  pad_token_id=talker.eos)[0, talker.prompt.shape[1]:]
    trace = open_trace(talker.greedy_ref)
    np.testing.assert_array_equal(_tokens(trace)[0], plain.numpy())  # exact: ids
    layer_steps = {parse_step(n)[0] for n in trace.names if n.endswith("/lm_head")}
    assert layer_steps == set(range(len(plain)))  # one forward recorded per token


def test_a_batch_pads_finished_sequences_with_eos(talker, tmp_path):
    prompt = torch.tensor([[3, 17, 5, 42, 8, 1], [9, 2, 77, 31, 4, 60]])
    path = tmp_path / "batch.safetensors"
    returned = capture_generate(talker.model, prompt, path, max_new_tokens=MAX_NEW,
                                eos_token_id=talker.eos)
    recorded = _tokens(open_trace(path))
    np.testing.assert_array_equal(recorded, returned.numpy())  # exact: ids
    assert recorded.shape[1] > 8  # the second sequence runs on after the first stops
    assert recorded[0, 7] == talker.eos and np.all(recorded[0, 8:] == talker.eos)


def test_sampled_tokens_follow_from_the_recorded_logits_and_uniforms(talker, tmp_path):
    from transformers import TemperatureLogitsWarper, TopPLogitsWarper

    from audioparity.generation import inverse_cdf

    path = tmp_path / "top_p.safetensors"
    capture_generate(talker.model, torch.from_numpy(talker.prompt), path,
                     max_new_tokens=MAX_NEW, temperature=1.3, top_p=0.9, seed=11)
    trace = open_trace(path)
    assert trace.meta["generation"]["sampling"] == {"temperature": 1.3, "top_k": None,
                                                    "top_p": 0.9}
    for k in range(trace.meta["steps"]):
        scores = torch.tensor(trace.read(f"@{k}/gen.logits"), dtype=torch.float64)
        for warp in (TemperatureLogitsWarper(1.3), TopPLogitsWarper(0.9)):
            scores = warp(None, scores)
        token = inverse_cdf(torch.softmax(scores, -1).numpy(), trace.read(f"@{k}/draws.uniform"))
        np.testing.assert_array_equal(token, trace.read(f"@{k}/gen.token"))  # exact: ids


def test_the_loop_recorder_takes_mlx_and_torch_bf16(tmp_path):
    import mlx.core as mx

    from audioparity.generation import record_generation

    path = tmp_path / "mlx.safetensors"
    with record_generation(path, eos_token_id=2) as gen:
        gen.record("model.norm", torch.ones(1, 3, 4, dtype=torch.bfloat16))
        gen.end_step(token=mx.array([5]), logits=mx.arange(8, dtype=mx.float32)[None])
        gen.end_step(token=torch.tensor([2]), logits=torch.zeros(1, 8, dtype=torch.bfloat16))
    trace = open_trace(path)
    assert trace.names == ["@0/model.norm", "@0/gen.logits", "@0/gen.token", "@1/gen.logits",
                           "@1/gen.token"]
    assert trace.info("@0/model.norm").dtype == "float32"
    assert trace.read("@0/gen.logits")[0, 7] == 7.0  # exact: a small integer in float32
    assert trace.meta["generation"]["eos_token_id"] == [2] and trace.meta["steps"] == 2
