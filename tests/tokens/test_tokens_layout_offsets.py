"""Layouts a port dumps codes in, offsets (seed 003: ``token + cb * 4096``) and the codebook
count (seed 003: the talker emits 15 codebooks, Code2Wav reads 8), on real DAC codes."""

from __future__ import annotations

import numpy as np
import pytest
from tokens_data import CODEBOOK_SIZE, dac_codes

from audioparity.tokens import as_tokens, check_tokens


@pytest.mark.parametrize("layout, reorder", [
    ("BQT", lambda c: c),
    ("BTQ", lambda c: c.transpose(0, 2, 1)),  # Candle / MLX talkers: [batch, seq, 8]
    ("QT", lambda c: c[0]),
    ("TQ", lambda c: c[0].T),
])
def test_every_layout_is_guessed_and_said(codes, layout, reorder):
    tokens = as_tokens(reorder(codes))
    assert (tokens.layout, tokens.assumed) == (layout, True)
    assert "guessed" in tokens.reason
    np.testing.assert_array_equal(tokens.array, codes)


def test_codebooks_option_settles_an_axis_the_guess_gets_wrong(codes):
    short = codes[..., :6]  # 6 frames < 8 codebooks: the guess takes frames for codebooks
    assert as_tokens(short).layout == "BTQ"
    tokens = as_tokens(short, codebooks=8)
    assert (tokens.layout, tokens.codebooks, tokens.assumed) == ("BQT", 8, False)
    with pytest.raises(ValueError, match="not --codebooks 5"):
        as_tokens(codes, codebooks=5)


def test_a_layout_that_does_not_fit_the_shape_is_refused(codes):
    with pytest.raises(ValueError, match="does not fit shape"):
        as_tokens(codes, "QT")
    assert as_tokens(codes[0], "BT").codebooks == 1  # a batch of 8 text sequences


def test_flat_vocabulary_offset_is_named_with_its_hint(codes):
    flat = codes + np.arange(8)[None, :, None] * CODEBOOK_SIZE
    result = check_tokens(as_tokens(flat), CODEBOOK_SIZE)
    [problem] = result.problems
    assert (problem.check, problem.cause) == ("offset", "offset")
    assert problem.params["offsets"] == [q * CODEBOOK_SIZE for q in range(8)]
    assert problem.params["flat"] and "subtract cb × 256" in problem.hint


def test_a_shared_codec_id_base_is_found_exactly(codes):
    base = 151669  # codec ids after a text vocabulary
    result = check_tokens(as_tokens(codes + base), CODEBOOK_SIZE)
    [problem] = result.problems
    assert problem.cause == "offset" and problem.params["base_range"] == [base, base]
    assert problem.params["offsets"] == [base] * 8 and not problem.params["flat"]


def test_a_few_stray_ids_are_a_range_problem_not_an_offset(codes):
    stray = codes.copy()
    stray[0, 2, :5] += CODEBOOK_SIZE
    assert [p.check for p in check_tokens(as_tokens(stray), CODEBOOK_SIZE).problems] == ["range"]


def test_any_per_codebook_offset_is_exact_against_the_reference(codes):
    offsets = np.array([0, 7, 300, 1, 2, 3, 4, 5])
    result = check_tokens(as_tokens(codes + offsets[None, :, None]), CODEBOOK_SIZE,
                          ref=as_tokens(codes))
    [named] = [p for p in result.problems if p.check == "ref"]
    assert named.cause == "offset" and named.params["offsets"] == offsets.tolist()
    assert named.params["first_mismatch"]["codebook"] == 1
    assert result.ref.agreement[0] == 1.0 and max(result.ref.agreement[1:]) < 0.1  # exact: n/n


def test_fifteen_codebooks_where_the_codec_reads_eight(speech):
    talker = dac_codes(*speech, n_codebooks=15)
    result = check_tokens(as_tokens(talker), CODEBOOK_SIZE, codebooks_expected=8)
    [problem] = result.problems
    assert problem.check == "codebook_count"
    assert problem.params == {"found": 15, "expected": 8}
    assert "take the first 8" in problem.hint
    assert check_tokens(as_tokens(talker[:, :8]), CODEBOOK_SIZE, codebooks_expected=8).ok


def test_swapped_codebooks_under_a_flat_offset_are_both_named(codes):
    order = [1, 0, 2, 3, 4, 5, 6, 7]
    port = codes[:, order] + np.arange(8)[None, :, None] * CODEBOOK_SIZE
    result = check_tokens(as_tokens(port), CODEBOOK_SIZE, ref=as_tokens(codes))
    assert [(p.check, p.cause) for p in result.problems] == [("offset", "offset"),
                                                              ("ref", "permutation")]
    assert result.problems[1].params["order"] == order
    assert any("after subtracting the fitted offsets" in n for n in result.notes)
    fixed = check_tokens(as_tokens(codes + np.arange(8)[None, :, None] * CODEBOOK_SIZE),
                         CODEBOOK_SIZE, ref=as_tokens(codes))
    assert [p.check for p in fixed.problems] == ["offset"] and fixed.ref.matches
