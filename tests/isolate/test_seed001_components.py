"""Seed 001's per-component table (talker, code predictor, speaker encoder, decoder), each
checked on the reference's own inputs, reproduced with a four-component TTS and a NumPy port
driven through its override hook: the voice-cloning path is garbled while preset voices
work, and only the speaker encoder is to blame."""

from __future__ import annotations

import mini_tts
import numpy as np

from audioparity.isolate import CallablePort, isolate

COMPONENTS = ["speaker_encoder", "talker", "code_predictor", "decoder"]


def test_cloned_voice_blames_the_speaker_encoder_and_the_rest_are_victims(tts_ref, tts_traces):
    port = mini_tts.NumpyMiniTTS(tts_ref, ("sum_pool",)).as_port()
    result = isolate(tts_traces["clone"], port, patch="speaker_encoder")
    assert [r.name for r in result.rows] == COMPONENTS  # the root's children, run order
    assert [r.name for r in result.bugs] == ["speaker_encoder"]
    assert [r.name for r in result.victims] == ["talker", "code_predictor", "decoder"]
    for row in result.victims:
        assert row.isolated.ok and row.end_to_end.wrong
        assert row.note.endswith("a victim of speaker_encoder")
    # integer codes are judged exactly: end to end they differ, alone they are identical
    codes = result.rows[2]
    assert codes.isolated.outputs[0].metrics.max_abs == 0  # exact: argmax of equal logits
    assert codes.end_to_end.outputs[0].metrics.max_abs >= 1
    assert result.patch.recovered
    assert result.patch.still_divergent == []


def test_preset_voices_do_not_reach_the_bug(tts_ref, tts_traces):
    port = mini_tts.NumpyMiniTTS(tts_ref, ("sum_pool",)).as_port()
    result = isolate(tts_traces["preset"], port)
    assert [r.name for r in result.rows] == ["voices", "talker", "code_predictor", "decoder"]
    assert result.status == "parity"
    assert "in isolation and end to end" in result.headline


def test_correct_numpy_port_is_at_parity_on_the_cloning_path(tts_ref, tts_traces):
    result = isolate(tts_traces["clone"], mini_tts.NumpyMiniTTS(tts_ref).as_port())
    assert result.status == "parity"
    talker = result.rows[1]
    assert 0 < talker.isolated.rel_l2 < 1e-5  # float32 GRU in NumPy vs torch: not bit-equal


def test_components_only_no_forward_gives_the_isolated_column_alone(tts_ref, tts_traces):
    numpy_port = mini_tts.NumpyMiniTTS(tts_ref, ("sum_pool",))
    port = CallablePort({n: getattr(numpy_port, n) for n in COMPONENTS})
    result = isolate(tts_traces["clone"], port, components=["decoder", "speaker_encoder"])
    assert [r.name for r in result.rows] == ["speaker_encoder", "decoder"]  # run order
    assert [r.verdict for r in result.rows] == ["bug", "ok"]
    assert all(r.end_to_end is None for r in result.rows)
    assert any("no end-to-end column" in n for n in result.notes)


def test_a_mapping_of_torch_modules_and_numpy_callables_is_a_port(tts_ref, tts_traces):
    numpy_port = mini_tts.NumpyMiniTTS(tts_ref)
    port = {"speaker_encoder": numpy_port.speaker_encoder, "talker": tts_ref.talker,
            "decoder": lambda codes: np.asarray(numpy_port.decoder(codes))}
    result = isolate(tts_traces["clone"], port, components=["speaker_encoder", "talker",
                                                            "decoder"])
    assert result.port_kind == "mixed"
    assert [r.verdict for r in result.rows] == ["ok", "ok", "ok"]
