"""Seed 004: Stable Audio (DiT with cross-attention + Oobleck VAE), ported to ONNX Runtime.

The reference is one classifier-free-guided denoising step and the decode, built from the
real diffusers classes with tiny random configs: ``StableAudioDiTModel`` on the batch
[conditional, unconditional] (the unconditional text is zeros, as in stable-audio-tools),
``guided = uncond + cfg * (cond - uncond)`` with seed 004's cfg = 7, then
``AutoencoderOobleck.decode``. Its last conv is scaled so the audio has seed 004's level
(zero mean, std 0.55, a few % of the samples past full scale).

The port is that pipeline exported with ``torch.onnx.export(dynamo=True)`` and run in ONNX
Runtime, traced by the ORT source. Bugs:

* ``ignore_text``: the port's glue never passes the T5 output; the DiT gets zeros for the
  text (the unconditional embedding), so both CFG branches are unconditional.
* ``clip``: the port clamps its audio to [-1, 1] at the end (an ``onnx`` ``Clip`` node
  appended to the exported graph), where the reference leaves the float audio as it is.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from zoo_common import randomize_, torch_trace

CFG_SCALE, AUDIO_STD = 7.0, 0.55
INPUT_NAMES = ("latents", "timestep", "text", "seconds")


@functools.cache
def build_reference():
    """The guided step + decode module and its inputs (cached: the export reuses it)."""
    import torch
    from diffusers import AutoencoderOobleck, StableAudioDiTModel

    torch.manual_seed(0)
    dit = StableAudioDiTModel(
        sample_size=16, in_channels=8, num_layers=2, attention_head_dim=8,
        num_attention_heads=4, num_key_value_attention_heads=2, out_channels=8,
        cross_attention_dim=32, time_proj_dim=16, global_states_input_dim=32,
        cross_attention_input_dim=24).eval()
    vae = AutoencoderOobleck(encoder_hidden_size=8, downsampling_ratios=[2, 4],
                             channel_multiples=[1, 2], decoder_channels=8,
                             decoder_input_channels=8, audio_channels=2).eval()
    randomize_(dit, seed=1)
    randomize_(vae, seed=2)

    class GuidedStepDecode(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer, self.vae = dit, vae

        def forward(self, latents, timestep, text, seconds):
            noise = self.transformer(
                torch.cat([latents, latents]), torch.cat([timestep, timestep]),
                encoder_hidden_states=torch.cat([text, torch.zeros_like(text)]),
                global_hidden_states=torch.cat([seconds, seconds])).sample
            cond, uncond = noise.chunk(2)
            guided = uncond + CFG_SCALE * (cond - uncond)
            return self.vae.decode(latents - guided).sample

    model = GuidedStepDecode().eval()
    gen = torch.Generator().manual_seed(3)
    inputs = (torch.randn(1, 8, 16, generator=gen), torch.tensor([0.5]),
              torch.randn(1, 6, 24, generator=gen), torch.randn(1, 1, 32, generator=gen))
    _level_audio(model, inputs)
    return model, inputs


def _level_audio(model, inputs) -> None:
    """Rewrite the VAE's last conv so the audio is zero-mean with std :data:`AUDIO_STD`:
    the DC its Snake activations feed in is projected out of the weight, then it is scaled."""
    import torch

    conv = torch.nn.utils.remove_weight_norm(model.vae.decoder.conv2)
    seen = []
    hook = conv.register_forward_hook(lambda _m, args, _out: seen.append(args[0]))
    with torch.no_grad():
        model(*inputs)
        hook.remove()
        dc = seen[0].mean(dim=(0, 2))[None, :, None].expand_as(conv.weight)
        along = (conv.weight * dc).sum(dim=(1, 2), keepdim=True)
        conv.weight.sub_(along * dc / dc.square().sum(dim=(1, 2), keepdim=True))
        conv.weight.mul_(AUDIO_STD / model(*inputs).std())


@functools.cache
def _exported() -> bytes:
    """The reference pipeline as an ONNX model (exported once per process)."""
    import tempfile

    import torch

    model, inputs = build_reference()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pipeline.onnx"
        torch.onnx.export(model, inputs, path, dynamo=True, input_names=list(INPUT_NAMES),
                          verbose=False)
        import onnx

        return onnx.load(path).SerializeToString()


def _append_clip(model_bytes: bytes) -> bytes:
    """The exported graph with ``Clip(-1, 1)`` on its output."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    out = graph.output[0]
    raw = out.name + "_unclipped"
    for node in graph.node:
        node.output[:] = [raw if name == out.name else name for name in node.output]
    bounds = [numpy_helper.from_array(np.array(v, np.float32), f"clip_{n}")
              for n, v in (("min", -1.0), ("max", 1.0))]
    graph.initializer.extend(bounds)
    graph.node.append(helper.make_node("Clip", [raw, "clip_min", "clip_max"], [out.name]))
    return model.SerializeToString()


def build(workdir: Path, bug: str | None = None) -> tuple[Path, Path]:
    """Reference: torch capture; port: the ONNX pipeline in ORT with ``bug`` ("ignore_text",
    "clip" or None)."""
    from audioparity.sources.onnxruntime_source import capture_onnx

    model, inputs = build_reference()
    ref = torch_trace(model, workdir / "ref.safetensors", lambda: model(*inputs))
    graph = _exported()
    if bug == "clip":
        graph = _append_clip(graph)
    onnx_path = workdir / "port.onnx"
    onnx_path.write_bytes(graph)
    feeds = {name: t.numpy() for name, t in zip(INPUT_NAMES, inputs, strict=True)}
    if bug == "ignore_text":
        feeds["text"] = np.zeros_like(feeds["text"])
    port = workdir / "port.safetensors"
    capture_onnx(onnx_path, feeds, port)
    return ref, port
