"""Port against reference: swapped codebooks, a frame lag, an early stop on real DAC codes;
a generation whose logits go wrong at step k on a real tiny Qwen3."""

from __future__ import annotations

import numpy as np
from tokens_data import CODEBOOK_SIZE, VOCAB, generate, prompt

from audioparity.tokens import as_tokens, check_tokens
from audioparity.tokens.logits import compare_logits


def _ref_problems(result):
    return [p for p in result.problems if p.check == "ref"]


def test_the_reference_itself_matches(codes):
    result = check_tokens(as_tokens(codes.transpose(0, 2, 1)), CODEBOOK_SIZE,
                          ref=as_tokens(codes))
    assert result.ok and result.ref.matches and result.ref.agreement == [1.0] * 8


def test_swapped_codebooks_are_a_permutation_with_the_order(codes):
    order = [1, 0, 2, 3, 4, 5, 6, 7]
    result = check_tokens(as_tokens(codes[:, order]), CODEBOOK_SIZE, ref=as_tokens(codes))
    [problem] = _ref_problems(result)
    assert problem.cause == "permutation" and problem.params["order"] == order
    assert problem.params["first_mismatch"] == {
        "sequence": 0, "frame": 0, "codebook": 0, "ref": int(codes[0, 0, 0]),
        "port": int(codes[0, 1, 0])}
    assert result.ref.agreement[2:] == [1.0] * 6


def test_a_port_one_frame_late_is_a_shift(codes):
    late = np.concatenate([codes[..., :1], codes[..., :-1]], axis=-1)
    [problem] = _ref_problems(check_tokens(as_tokens(late), CODEBOOK_SIZE,
                                           ref=as_tokens(codes)))
    assert problem.cause == "shift" and problem.params["first_mismatch"]["frame"] >= 1


def test_a_port_that_stops_early_has_a_length_difference(codes):
    eos = CODEBOOK_SIZE  # a codec EOS outside the codebook range
    eos_frame = np.full((1, 8, 1), eos)
    ref = np.concatenate([codes, eos_frame], axis=-1)
    port = np.concatenate([codes[..., :300], eos_frame], axis=-1)
    result = check_tokens(as_tokens(port), CODEBOOK_SIZE, eos=eos, ref=as_tokens(ref))
    [problem] = result.problems  # EOS is no range problem: statistics stop before it
    assert problem.params == {"length_difference": [300 - 512]}
    assert result.ref.first_mismatch is None and result.ref.compared == [1, 8, 300]


def test_logits_wrong_at_step_k_give_the_first_mismatch_and_flipped_argmax(lm, greedy):
    k = 7
    ref_ids, ref_logits = greedy
    port_ids, port_logits = generate(lm, prompt(3), 40, flip_at=k)
    result = check_tokens(as_tokens(port_ids, "BT"), VOCAB, ref=as_tokens(ref_ids, "BT"),
                          logits=(ref_logits, port_logits))
    mismatch = result.ref.first_mismatch
    assert (mismatch["frame"], mismatch["ref"]) == (k, int(ref_ids[mismatch["sequence"], k]))
    flipped = result.logits.first_argmax_mismatch
    assert flipped["step"] == k and flipped["ref_token"] == mismatch["ref"]
    assert flipped["port_token"] == mismatch["port"] and flipped["ref_margin"] > 0
    assert result.logits.top1_agreement < 1.0
    steps_before = compare_logits(ref_logits[:, :k], port_logits[:, :k])
    assert steps_before.agrees and steps_before.max_abs < 1e-5
    assert {p.check for p in result.problems} == {"ref", "logits"}
    [logits_problem] = [p for p in result.problems if p.check == "logits"]
    assert flipped["ref_margin"] >= 0.1 and logits_problem.cause is None  # no near tie


def test_near_tie_flipped_by_rounding_is_called_precision(greedy):
    ref_logits = greedy[1][:1]
    top2 = np.sort(ref_logits, axis=-1)[..., -2:]
    step = int(np.argmin(top2[0, :, 1] - top2[0, :, 0]))  # the reference's closest call
    port = ref_logits.copy()
    second = int(np.argsort(port[0, step])[-2])
    port[0, step, second] = top2[0, step, 1] + 1e-3  # a rounding-sized nudge past the top
    result = check_tokens(as_tokens(greedy[0][:1], "BT"), VOCAB, logits=(ref_logits, port))
    assert top2[0, step, 1] - top2[0, step, 0] < 0.1  # this generation has a close call
    [problem] = result.problems
    assert problem.cause == "precision" and "near tie" in problem.hint
    assert problem.params["first_argmax_mismatch"]["step"] == step
