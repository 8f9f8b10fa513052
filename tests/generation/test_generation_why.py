"""The reasons the generation section gives, on records written step by step: a first
argmax flip where the reference's top two logits nearly tie is a near tie (a precision
difference can flip it); a port that never stops and repeats one token is stuck."""

from __future__ import annotations

import numpy as np

from audioparity.generation import compare_generation, record_generation
from audioparity.trace import open_trace

VOCAB, STEPS, TIE_STEP = 50, 4, 2


def _loop(path, logits_per_step, limit=STEPS):
    with record_generation(path, eos_token_id=VOCAB - 1, max_new_tokens=limit) as gen:
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


def test_a_port_repeating_one_token_to_the_limit_is_stuck(tmp_path):
    rng = np.random.default_rng(1)
    ref = [rng.normal(size=(1, VOCAB)).astype(np.float32) for _ in range(STEPS)]
    ref[-1][0, VOCAB - 1] = 10.0  # the reference stops: EOS at its last step
    port = [a.copy() for a in ref[:-1]]
    loop = ref[-1].copy()
    loop[0, VOCAB - 1] = -10.0
    loop[0, 7] = 20.0  # then one token, for ever
    port += [loop] * (3 * STEPS + 1)  # to the limit
    result = compare_generation(_loop(tmp_path / "ref.safetensors", ref, 4 * STEPS),
                                _loop(tmp_path / "port.safetensors", port, 4 * STEPS))
    assert result.port_stop.kind == "length" and result.ref_stop.kind == "eos"
    stuck = [w for w in result.why if w.startswith("the port is stuck")]
    expected = (f"the port is stuck: from step {STEPS - 1} it repeats one token for "
                f"{3 * STEPS + 1} of its {4 * STEPS} steps")
    assert stuck == [expected]
