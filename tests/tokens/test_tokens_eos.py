"""Stop reason on real greedy generations of a tiny Qwen3: stopped at EOS, EOS suppressed
(stops by length), EOS at step 0, ids after EOS, and HF's padding of finished rows."""

from __future__ import annotations

import numpy as np
from tokens_data import VOCAB, generate, prompt

from audioparity.tokens import as_tokens, check_tokens


def _check(ids, eos, **kwargs):
    return check_tokens(as_tokens(ids, "BT"), VOCAB, eos=eos, **kwargs)


def test_generation_that_stops_at_eos_is_ok(lm, eos_id):
    eos, k = eos_id
    ids, _ = generate(lm, prompt(3)[:1], 40, eos=eos)
    assert ids.shape == (1, k + 1)
    result = _check(ids, eos)
    assert result.ok, [p.detail for p in result.problems]
    [stop] = result.stops
    assert (stop.eos_frame, stop.stop_reason, stop.after_eos) == (k, "eos", 0)
    assert result.codebooks[0].count == k  # statistics cover the ids before EOS only


def test_a_port_that_never_emits_eos_stops_by_length(lm, eos_id):
    eos, k = eos_id
    port, _ = generate(lm, prompt(3)[:1], 40, eos=eos, suppress_tokens=[eos])
    ref, _ = generate(lm, prompt(3)[:1], 40, eos=eos)
    result = _check(port, eos, ref=as_tokens(ref, "BT"))
    eos_problems = [p for p in result.problems if p.check == "eos"]
    assert [p.params for p in eos_problems] == [{"sequence": 0, "stop_reason": "length"}]
    assert result.ref.length_difference == [40 - k]
    assert result.ref.first_mismatch is None  # identical up to where the reference stopped


def test_no_eos_like_the_reference_is_only_a_note(lm, greedy):
    never = VOCAB - 1
    assert never not in greedy[0]
    result = _check(greedy[0], never, ref=as_tokens(greedy[0], "BT"))
    assert result.ok and any("like the reference" in n for n in result.notes)


def test_eos_in_the_first_frame(lm, greedy):
    first = int(greedy[0][0, 0])
    ids, _ = generate(lm, prompt(3)[:1], 40, eos=first)
    assert ids.shape == (1, 1)
    [problem] = _check(ids, first).problems
    assert problem.params == {"sequence": 0, "eos_frame": 0}


def test_ids_generated_after_eos_are_counted(greedy, eos_id):
    eos, k = eos_id  # the plain greedy run emits eos at k and keeps going
    row = greedy[0][:1]
    [problem] = _check(row, eos).problems
    assert problem.params["eos_frame"] == k
    assert problem.params["after_eos"] == int(np.sum(row[0, k + 1:] != eos)) > 0


def test_padding_of_finished_rows_is_allowed_with_pad(lm, eos_id):
    eos, _ = eos_id
    pad = VOCAB - 1
    ids, _ = generate(lm, prompt(3), 40, eos=eos, pad=pad)
    stops = _check(ids, eos, pad=pad).stops
    for b, stop in enumerate(stops):
        hits = np.flatnonzero(ids[b] == eos)
        assert stop.eos_frame == (int(hits[0]) if hits.size else None)
        assert stop.after_eos == 0
    padded = [s for s in stops if s.eos_frame is not None and s.eos_frame + 1 < ids.shape[1]]
    assert padded, "the batch should have a row finished early and padded"
    unpadded = _check(ids, eos).stops  # without --pad the padding counts as generated ids
    assert unpadded[padded[0].index].after_eos > 0
