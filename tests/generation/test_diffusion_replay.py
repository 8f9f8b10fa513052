"""A diffusion sampler's draws replayed: diffusers' ``DDIMScheduler`` (eta = 1, so every step
adds fresh noise) around a small torch denoiser as the reference, recording its initial
latents and per-step noise; a NumPy port of the denoiser and the DDIM step that takes them
from :class:`~audioparity.generation.Replay` matches it step by step."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from diffusers import DDIMScheduler

from audioparity.compare import compare_traces
from audioparity.examples.numpy_port import conv1d
from audioparity.generation import Replay, ReplayError, record_generation

STEPS, SHAPE = 5, (1, 4, 16)


def _reference(path):
    torch.manual_seed(0)
    denoiser = torch.nn.Conv1d(4, 4, 3, padding=1).eval()
    sched = DDIMScheduler(clip_sample=False)
    sched.set_timesteps(STEPS)
    rng = torch.Generator().manual_seed(1)
    latents = torch.randn(SHAPE, generator=rng)
    with torch.no_grad(), record_generation(path) as gen:
        gen.noise(latents, init=True)
        for t in sched.timesteps:
            eps = denoiser(latents)
            gen.record("denoiser", eps)
            noise = torch.randn(SHAPE, generator=rng)
            gen.noise(noise)
            latents = sched.step(eps, t, latents, eta=1.0, variance_noise=noise).prev_sample
            gen.record("latents", latents)
            gen.end_step()
    return denoiser


def _port(path, denoiser, draw):
    """DDIM (eta = 1) in NumPy; ``draw()`` gives the initial latents, then each step's noise."""
    w, b = (p.detach().numpy() for p in (denoiser.weight, denoiser.bias))
    ac = (np.cumprod(1.0 - np.linspace(1e-4, 0.02, 1000, dtype=np.float32))).astype(np.float32)
    stride = 1000 // STEPS
    x = draw()
    with record_generation(path) as gen:
        gen.noise(x, init=True)
        for t in range(1000 - stride, -1, -stride):
            eps = conv1d(x, w, b).astype(np.float32)
            gen.record("denoiser", eps)
            a_t, a_prev = ac[t], (ac[t - stride] if t - stride >= 0 else np.float32(1.0))
            x0 = (x - np.sqrt(1 - a_t) * eps) / np.sqrt(a_t)
            std = np.sqrt((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev))
            noise = draw()
            gen.noise(noise)
            x = (np.sqrt(a_prev) * x0 + np.sqrt(1 - a_prev - std ** 2) * eps
                 + std * noise).astype(np.float32)
            gen.record("latents", x)
            gen.end_step()


def test_ddim_port_on_replayed_noise_matches_every_step(tmp_path):
    ref = tmp_path / "ref.safetensors"
    denoiser = _reference(ref)
    replay = Replay.from_trace(ref)
    assert replay.available("noise") == STEPS + 1  # exact: init + one per step
    _port(tmp_path / "port.safetensors", denoiser, lambda: replay.next("noise", SHAPE))
    replay.check_done()
    result = compare_traces(ref, tmp_path / "port.safetensors")
    assert result.status == "parity", result.headline
    assert {e.name for e in result.entries} >= {f"@{k}/latents" for k in range(STEPS)}


def test_ddim_port_on_its_own_noise_is_not_comparable(cli, tmp_path):
    ref = tmp_path / "ref.safetensors"
    denoiser = _reference(ref)
    rng = np.random.default_rng(0)
    _port(tmp_path / "own.safetensors", denoiser,
          lambda: rng.standard_normal(SHAPE).astype(np.float32))
    result = compare_traces(ref, tmp_path / "own.safetensors")
    assert result.first_divergence is None and result.status == "incomplete"
    assert result.generation.first_differing == "draws.noise.init"
    code, out, _ = cli("compare", ref, tmp_path / "own.safetensors")
    assert code == 1 and "not comparable" in out and "divergent" not in out


def test_ddim_port_on_late_other_noise_is_compared_up_to_it(tmp_path):
    ref = tmp_path / "ref.safetensors"
    denoiser = _reference(ref)
    replay = Replay.from_trace(ref)
    draws = iter([replay.next("noise", SHAPE) for _ in range(3)]
                 + [np.zeros(SHAPE, np.float32)] * (STEPS - 2))
    _port(tmp_path / "late.safetensors", denoiser, lambda: next(draws))
    result = compare_traces(ref, tmp_path / "late.safetensors")
    assert result.status == "incomplete" and result.first_divergence is None
    assert result.generation.first_differing == "@2/draws.noise"
    assert {e.name for e in result.entries} == {"@0/denoiser", "@0/latents", "@1/denoiser",
                                               "@1/latents", "@2/denoiser"}


def test_a_port_that_wants_other_noise_is_refused(tmp_path):
    ref = tmp_path / "ref.safetensors"
    _reference(ref)
    replay = Replay.from_trace(ref)
    with pytest.raises(ReplayError, match=r"draws.noise.init\) with shape \(1, 16, 4\)"):
        replay.next("noise", (1, 16, 4))  # a channels-last port
