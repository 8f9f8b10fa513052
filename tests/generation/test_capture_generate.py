"""``capture_generate`` records what ``generate`` did: the same tokens as a plain greedy
``generate``, one ``@k/`` step of layers per token, finished sequences of a batch padded
with EOS, sampled tokens reproducible from the recorded draws."""

from __future__ import annotations

import numpy as np
import torch
from conftest import MAX_NEW

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
