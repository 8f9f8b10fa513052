"""Per-codebook range and degeneracy on real DAC codes of espeak-ng speech and real greedy
generations of a tiny Qwen3 (seed 003: "hundreds of unique tokens, not 5-8", "not a
constant", "all tokens in [0, 4096)")."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from tokens_data import CODEBOOK_SIZE, VOCAB, dac_codes, generate, prompt

from audioparity.tokens import as_tokens, check_tokens
from audioparity.tokens.loops import longest_constant_run, longest_repeat


def _degenerate(result) -> dict[int, list[str]]:
    return {q: p.params["flags"] for p in result.problems if p.check == "degenerate"
            for q in p.params["codebooks"]}


def test_real_speech_codes_pass_every_check(codes):
    result = check_tokens(as_tokens(codes), CODEBOOK_SIZE)
    assert result.ok, [p.detail for p in result.problems]
    assert (result.tokens.layout, result.tokens.assumed) == ("BQT", True)
    for q, s in enumerate(result.codebooks):
        assert (s.min, s.max) == (codes[0, q].min(), codes[0, q].max())
        assert s.unique == np.unique(codes[0, q]).size >= 50
        assert s.entropy > 0.6 and not s.flags


def test_codebook_collapse_inside_the_codec_is_low_diversity(speech):
    collapsed = dac_codes(*speech, collapse_to=6)  # every codebook table: 6 distinct rows
    result = check_tokens(as_tokens(collapsed), CODEBOOK_SIZE)
    flagged = _degenerate(result)
    assert set(flagged) == set(range(8))
    assert all("low_diversity" in flags for flags in flagged.values())
    assert all(s.unique <= 6 and s.entropy < 0.4 for s in result.codebooks)


def test_constant_stream_is_named_once_for_all_codebooks(codes):
    result = check_tokens(as_tokens(np.full_like(codes, codes[0, 0, 0])), CODEBOOK_SIZE)
    [problem] = result.problems
    assert problem.params == {"codebooks": list(range(8)), "flags": ["constant"]}
    assert f"every id is {codes[0, 0, 0]}" in problem.detail


def test_stuck_cycle_is_found_with_its_period_and_start(codes):
    looped = codes.copy()
    looped[..., 300:] = np.tile(codes[..., 120:123], 100)[..., :212]
    result = check_tokens(as_tokens(looped), CODEBOOK_SIZE)
    assert set(_degenerate(result)) == set(range(8))
    for s in result.codebooks:
        assert "stuck" in s.flags
        assert (s.repeat.period, s.repeat.start) == (3, 300)
        assert s.repeat.length >= 212


def test_real_lm_stuck_on_one_id_is_flagged_in_its_sequence(lm):
    ids, _ = generate(lm, prompt(1), 40)  # row 1 of this tiny random LM repeats one id
    result = check_tokens(as_tokens(ids, "BT"), VOCAB)
    [stats] = result.codebooks
    assert "stuck" in stats.flags and stats.repeat_sequence == 1
    assert stats.repeat.period == 1
    assert longest_constant_run(ids[1]) == stats.repeat.length == stats.longest_run
    clean = check_tokens(as_tokens(ids[:1], "BT"), VOCAB)
    assert clean.ok, [p.detail for p in clean.problems]


def test_out_of_range_ids_are_counted_per_codebook(codes):
    broken = codes.copy()
    broken[0, 3, [10, 11]] = [CODEBOOK_SIZE, -1]
    broken[0, 5, 100] = CODEBOOK_SIZE + 5
    result = check_tokens(as_tokens(broken), CODEBOOK_SIZE)
    [problem] = result.problems
    assert problem.check == "range"
    assert problem.params == {"codebooks": [3, 5], "negative": [1, 0], "over": [1, 1]}
    assert result.codebooks[5].max == CODEBOOK_SIZE + 5 and result.offset is None


@settings(max_examples=40, deadline=None)
@given(period=st.integers(1, 8), repeats=st.integers(3, 10), seed=st.integers(0, 1000))
def test_longest_repeat_finds_an_inserted_cycle(period, repeats, seed):
    rng = np.random.default_rng(seed)
    head, tail = rng.integers(0, 1 << 20, 30), rng.integers(0, 1 << 20, 30)
    cycle = rng.permutation(1 << 20)[:period]  # distinct ids: its true period is `period`
    seq = np.concatenate([head, np.tile(cycle, repeats), tail])
    found = longest_repeat(seq)
    assert found is not None and found.period == period
    assert found.length >= period * repeats and found.start <= 30
