"""A first argmax flip where the reference's top two logits nearly tie is called a near tie
(a precision difference can flip it), not a wrong forward pass."""

from __future__ import annotations

import numpy as np

from audioparity.generation import compare_generation, record_generation
from audioparity.trace import open_trace

VOCAB, STEPS, TIE_STEP = 50, 4, 2


def _loop(path, logits_per_step):
    with record_generation(path, eos_token_id=VOCAB - 1, max_new_tokens=STEPS) as gen:
        for logits in logits_per_step:
            gen.end_step(token=logits.argmax(-1), logits=logits)
    return open_trace(path)


def test_a_near_tie_flip_is_named_as_such(tmp_path):
    rng = np.random.default_rng(0)
    ref = [rng.normal(size=(1, VOCAB)).astype(np.float32) for _ in range(STEPS)]
    top = int(ref[TIE_STEP].argmax())
    second = (top + 1) % (VOCAB - 1)
    ref[TIE_STEP][0, second] = ref[TIE_STEP][0, top] - 0.01  # reference leads by 0.01
    port = [a.copy() for a in ref[:TIE_STEP + 1]]
    port[TIE_STEP][0, second] += 0.02  # a rounding difference flips it
    result = compare_generation(_loop(tmp_path / "ref.safetensors", ref),
                                _loop(tmp_path / "port.safetensors", port))
    assert result.status == "divergent"
    assert result.first_argmax_mismatch["step"] == TIE_STEP
    assert result.first_argmax_mismatch["ref_margin"] < 0.011
    assert any(w.startswith("near tie") for w in result.why)
