"""``drift`` on long signals: a sine source whose phase is an f32 running sum of the
instantaneous frequency (``phase += 2π f0 / sr`` per sample), against the float64 reference,
at 2, 5 and 10 s — where the phase error crosses zero, saturates and wraps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audioparity.explain import explain_pair

SR = 24000


def _sine_source(seconds: float, f0: float, vibrato: float, accumulate: str):
    t = np.arange(int(SR * seconds)) / SR
    step = 2 * np.pi * (f0 + vibrato * np.sin(2 * np.pi * 0.5 * t)) / SR
    ref = np.sin(np.cumsum(step)).astype(np.float32)[None]
    if accumulate == "loop":  # a sequential f32 accumulator, as a port's sample loop
        phase = np.cumsum(step.astype(np.float32), dtype=np.float32)
    else:                     # torch's own f32 cumsum
        phase = torch.cumsum(torch.from_numpy(step).float(), 0).numpy()
    return ref, np.sin(phase).astype(np.float32)[None]


@pytest.mark.parametrize("seconds", [2, 5, 10])
@pytest.mark.parametrize(("f0", "vibrato"), [(220, 30), (700, 200)])
def test_f32_phase_accumulator_is_drift_at_long_lengths(seconds, f0, vibrato):
    ref, port = _sine_source(seconds, f0, vibrato, "loop")
    top = explain_pair(ref, port)[0]
    assert top.cause == "drift" and top.params["axis"] == 1
    assert top.params["end"] > 8 * top.params["start"]
    assert 0.4 < top.confidence <= 0.8


def test_wrapped_phase_error_is_drift_saturating_before_the_end():
    ref, port = _sine_source(10, 700, 200, "loop")
    assert np.abs(ref - port).max() > 1.9                     # the phase error passed π
    top = explain_pair(ref, port)[0]
    assert top.cause == "drift" and top.params["method"] == "local"
    assert 0 < top.params["saturates_at"] < ref.shape[1]
    assert "saturating" in top.detail


@pytest.mark.parametrize("seconds", [5, 10])
def test_torch_f32_cumsum_phase_is_drift(seconds):
    ref, port = _sine_source(seconds, 220, 30, "torch")
    assert explain_pair(ref, port)[0].cause == "drift"


def test_fading_signal_with_constant_error_is_not_drift():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(2, 4000)) * np.exp(-5 * np.linspace(0, 1, 4000))
    port = ref + 1e-3 * rng.normal(size=ref.shape)
    assert "drift" not in [f.cause for f in explain_pair(ref, port)]


def test_bf16_rounding_of_a_crescendo_is_not_drift():
    x = torch.randn(1, 48000) * torch.linspace(0.01, 1, 48000)
    causes = [f.cause for f in explain_pair(x.numpy(), x.bfloat16().float().numpy())]
    assert causes == ["precision"]


@pytest.mark.parametrize("seconds", [2, 5, 10])
def test_framed_phase_accumulator_is_drift_along_frames_not_a_mask(seconds):
    """The same source dumped as [frames, hop]: the error's first frames are tiny (not
    exact) and it jumps where the phase passes a power of two — still a drift."""
    ref, port = _sine_source(seconds, 220, 30, "loop")
    findings = explain_pair(ref.reshape(-1, 480), port.reshape(-1, 480))
    assert findings[0].cause == "drift" and findings[0].params["axis"] == 0
    assert "mask" not in [f.cause for f in findings]
