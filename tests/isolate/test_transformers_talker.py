"""A real transformers module graph: the demo's Qwen3 language model feeding a Vocos-style
ISTFT head, ported in torch with seed 000's two bugs — Qwen2-style attention without the
per-head q norm in layer 1 (early) and an extra 1/n_fft on the inverse FFT (late).

Decoder layers and attention take ``position_embeddings`` as a tuple the capture does not
record; isolation takes it from the recorded ``rotary_emb`` outputs, so narrowing reaches
inside the language model. The ISTFT takes a complex spectrogram, which the capture stores
as a real/imag axis and lists in the trace's meta, so the ISTFT runs alone too."""

from __future__ import annotations

import pytest
import torch

from audioparity.isolate import isolate

COMPONENTS = ["lm.model", "lm.lm_head", "vocoder"]


def _port(bugs: tuple[str, ...]):
    from audioparity.examples.reference import build_reference
    from audioparity.examples.vocoder import ISTFT

    class ScaledISTFT(ISTFT):
        def forward(self, spec):
            return super().forward(spec) / self.n_fft

    model = build_reference()
    if "no_q_norm" in bugs:
        model.lm.model.layers[1].self_attn.q_norm = torch.nn.Identity()
    if "istft_scale" in bugs:
        old = model.vocoder.istft
        model.vocoder.istft = ScaledISTFT(old.n_fft, old.hop_length)
    return model.eval()


@pytest.fixture(scope="module")
def two_bug_result(demo_files):
    return isolate(demo_files.ref_trace, _port(("no_q_norm", "istft_scale")), COMPONENTS)


def test_both_bugs_are_named_and_the_head_between_them_is_a_victim(two_bug_result):
    assert [(r.name, r.verdict) for r in two_bug_result.rows] == [
        ("lm.model", "bug"), ("lm.lm_head", "victim"), ("vocoder", "bug")]
    assert two_bug_result.first_end_to_end.name == "lm.model"


def test_narrowing_reaches_the_missing_q_norm_inside_a_decoder_layer(two_bug_result):
    lm = two_bug_result.rows[0]
    assert lm.chain == ["lm.model.layers.1", "lm.model.layers.1.self_attn",
                        "lm.model.layers.1.self_attn.q_norm"]
    assert lm.skipped == []  # every layer ran alone: position_embeddings came from the trace
    assert lm.causes[0].cause == "missing_norm"


def test_the_istft_scale_is_named_at_the_istft(two_bug_result):
    vocoder = two_bug_result.rows[2]
    assert vocoder.innermost == "vocoder.istft"
    assert vocoder.causes[0].cause == "scale"
    assert "the port divides by 64" in vocoder.causes[0].hint  # n_fft of the demo head
