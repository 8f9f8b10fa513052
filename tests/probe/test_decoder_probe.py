"""Decoder probes on real codec decoders (transformers ``DacModel``, and ``MimiModel`` whose
decoder has a transformer): a correct port, a port with a decoder bug, and a healthy decoder
fed bad tokens from upstream."""

from __future__ import annotations

import copy

import numpy as np
import pytest

pytest.importorskip("transformers")

import codec_decoders as codec
import torch

from audioparity.probe.decoder_probe import probe_decoder
from audioparity.probe.decoders import CallableDecoder
from audioparity.probe.probe_tokens import probe_set


@pytest.fixture(scope="module")
def ref_model():
    return codec.reference()


def _probe(port_fn, ref_model, *, reference=True, port_tokens=None, ref_tokens=True):
    ref_tokens = codec.reference_tokens() if ref_tokens else None
    probes = probe_set(codec.CODEBOOKS, codec.FRAMES, codec.CODEBOOK_SIZE,
                       reference=ref_tokens, port=port_tokens)
    ref_dec = CallableDecoder(codec.decode_with(ref_model), codec.SR) if reference else None
    return probe_decoder(CallableDecoder(port_fn, codec.SR), probes, ref_dec)


def test_correct_port_matches_the_reference_decoder_on_every_probe(ref_model):
    result = _probe(codec.correct_port(ref_model), ref_model,
                    port_tokens=codec.reference_tokens())
    assert result.status == "ok", result.to_json()
    assert result.fault == "none"
    assert [o.name for o in result.outcomes] == ["zeros", "constant", "pattern", "random",
                                                 "reference", "port"]
    assert all(o.vs_ref["snr_db"] > 60 for o in result.outcomes)


def test_conv_layout_bug_is_blamed_on_the_decoder(ref_model):
    result = _probe(codec.conv_layout_port(ref_model), ref_model)
    assert result.status == "problem"
    assert result.fault == "decoder"
    ref_probe = result.outcome("reference")
    assert ref_probe.ok is False and ref_probe.vs_ref["snr_db"] < 10
    assert "reference's own tokens" in result.detail


def test_healthy_decoder_fed_tokens_in_the_wrong_codebook_order_blames_upstream(ref_model):
    upstream = codec.reference_tokens()[:, ::-1].copy()  # codebooks reversed by the talker
    result = _probe(codec.correct_port(ref_model), ref_model, port_tokens=upstream)
    assert result.status == "problem"
    assert result.fault == "upstream", result.detail
    assert all(o.ok for o in result.outcomes if o.name != "port")
    assert result.outcome("port").ok is False
    # the middle codebook stays in place when three are reversed
    assert any("per codebook 0: " in n and "1: 100%" in n for n in result.notes)


def test_constant_and_repeated_tokens_give_periodic_audio_without_a_reference(ref_model):
    result = _probe(codec.correct_port(ref_model), ref_model, reference=False,
                    ref_tokens=False)
    for name in ("zeros", "constant", "pattern"):
        outcome = result.outcome(name)
        assert outcome.periodicity > 0.99, outcome
        assert outcome.ok
    assert result.status == "ok"
    assert result.fault == "unknown"  # no reference tokens: speech not judged


def test_tokens_read_in_the_wrong_axis_order_break_the_repeated_pattern(ref_model):
    result = _probe(codec.token_axes_port(ref_model), ref_model, reference=False,
                    ref_tokens=False)
    assert result.outcome("constant").ok  # a constant input hides the bug
    pattern = result.outcome("pattern")
    assert pattern.ok is False and pattern.periodicity < 0.9
    assert result.fault == "decoder"
    assert result.status == "problem"


def test_a_decoder_that_raises_is_reported_on_that_probe(ref_model):
    decode = codec.correct_port(ref_model)

    def fragile(tokens: np.ndarray) -> np.ndarray:
        if not tokens.any():
            raise RuntimeError("index 0 is the padding id")
        return decode(tokens)

    result = _probe(fragile, ref_model)
    zeros = result.outcome("zeros")
    assert zeros.ok is None
    assert zeros.failure == "raised RuntimeError: index 0 is the padding id"
    assert result.outcome("reference").ok
    assert result.fault == "decoder" and result.status == "problem"


def test_a_decoder_with_attention_repeats_too_and_the_axis_bug_shows():
    """Mimi's decoder runs a sliding-window transformer before its SEANet: still
    shift-equivariant away from the edges, so the periodicity probes hold."""
    ref = codec.mimi_reference()
    size = codec.MIMI["codebook_size"]
    probes = probe_set(codec.MIMI["num_quantizers"], 400, size,
                       reference=np.random.default_rng(3).integers(0, size, (1, 3, 400)))
    reference = CallableDecoder(codec.mimi_decode_with(ref), codec.MIMI["sampling_rate"])
    port = CallableDecoder(codec.mimi_decode_with(copy.deepcopy(ref), torch.float64),
                           codec.MIMI["sampling_rate"])
    good = probe_decoder(port, probes, reference)
    assert good.status == "ok", good.detail
    alone = probe_decoder(port, probes[:3])
    assert all(o.periodicity > 0.99 for o in alone.outcomes)

    def axes_swapped(tokens: np.ndarray) -> np.ndarray:
        b, q, t = tokens.shape
        return reference.fn(np.ascontiguousarray(tokens.transpose(0, 2, 1)).reshape(b, q, t))

    bad = probe_decoder(CallableDecoder(axes_swapped, codec.MIMI["sampling_rate"]),
                        probes[:3])
    assert bad.outcome("pattern").ok is False and bad.fault == "decoder"


def test_vad_gives_a_second_opinion_on_each_output(ref_model):
    pytest.importorskip("silero_vad")
    probes = probe_set(codec.CODEBOOKS, codec.FRAMES, codec.CODEBOOK_SIZE,
                       reference=codec.reference_tokens())
    port = CallableDecoder(codec.correct_port(ref_model), codec.SR)
    result = probe_decoder(port, probes, vad=True)
    fractions = [o.speech_fraction for o in result.outcomes if o.verdict != "silence"]
    assert fractions and all(0.0 <= f <= 1.0 for f in fractions)
    assert probe_decoder(port, probes[:1]).outcomes[0].speech_fraction is None
