"""Fixtures for the HTML report tests: the demo's real traces and a headless Chromium."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from browser import BrowserUnavailable, start_chromium, stop_chromium

#: names planted in a real trace: each would run script if the report did not escape it
MARKUP_NAMES = {
    "lm.model.layers.0.self_attn.apply_rotary_pos_emb":
        "lm.model.layers.0.self_attn.<img src=x onerror=document.title='pwned'>",
    "lm.model.layers.0.self_attn.v_proj":
        "lm.model.layers.0.self_attn.\"onload=document.title='pwned2' x=\"",
    "lm.model.layers.0.self_attn.k_norm":
        "lm.model.layers.0.self_attn.<script>document.title='pwned3'</script>",
}


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """``audioparity demo``'s folder: the reference (transformers Qwen3 + ISTFT head) and the
    NumPy port with interleaved RoPE planted at layer 0, compared."""
    from audioparity.cli.demo import run_demo

    out = tmp_path_factory.mktemp("demo")
    run_demo(out, "rope_interleaved", 0, quiet=True)
    return out


def _tensors(path: Path) -> dict[str, np.ndarray]:
    from audioparity.trace import open_trace

    with open_trace(path) as trace:
        return {name: np.array(trace.read(name)) for name in trace.names}


@pytest.fixture(scope="session")
def markup_traces(demo_dir, tmp_path_factory) -> tuple[Path, Path]:
    """The demo's two traces with three tensor names turned into HTML that runs script."""
    from audioparity.trace import write_trace

    out = tmp_path_factory.mktemp("markup")
    paths = []
    for side in ("ref", "port"):
        tensors = {MARKUP_NAMES.get(n, n): a for n, a in
                   _tensors(demo_dir / f"{side}.safetensors").items()}
        paths.append(write_trace(out / f"{side}.safetensors", tensors))
    return paths[0], paths[1]


@pytest.fixture(scope="session")
def incomplete_port(demo_dir, tmp_path_factory) -> Path:
    """The reference's own first 30 tensors, marked as a port that raised."""
    from audioparity.trace import write_trace

    tensors = _tensors(demo_dir / "ref.safetensors")
    kept = dict(list(tensors.items())[:30])
    return write_trace(tmp_path_factory.mktemp("incomplete") / "port.safetensors", kept,
                       {"incomplete": True, "error": "RuntimeError: shape mismatch in "
                                                     "layer 1"})


@pytest.fixture(scope="session")
def browser():
    """A headless Debian Chromium (Selenium + chromedriver). Missing or broken: the test
    fails saying how to install it — unless AUDIOPARITY_NO_BROWSER=1 asks to skip."""
    if os.environ.get("AUDIOPARITY_NO_BROWSER") == "1":
        pytest.skip("AUDIOPARITY_NO_BROWSER=1: the browser checks of the HTML report are off")
    try:
        driver = start_chromium()
    except BrowserUnavailable as exc:
        pytest.fail(f"the HTML report is tested in headless Chromium: {exc}", pytrace=False)
    yield driver
    stop_chromium(driver)


@pytest.fixture(scope="session")
def results_dir(demo_dir, tmp_path_factory, cli_module):
    """compare, weights audit, audio inspect and audio compare JSON of real inputs: the demo
    traces, its weights and a copy with one tensor scaled, espeak-ng speech and a clipped
    copy of it."""
    import soundfile as sf
    from safetensors.numpy import load_file, save_file

    out = tmp_path_factory.mktemp("results")
    wav = out / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(wav), "the port runs but sounds like a radio"],
                   check=True)
    y, sr = sf.read(wav, dtype="float32")
    sf.write(out / "port_speech.wav", np.clip(6 * y, -1, 1), sr)
    weights = load_file(demo_dir / "weights.safetensors")
    key = "lm.model.layers.0.mlp.down_proj.weight"
    weights[key] = np.ascontiguousarray(weights[key] * 1.5)
    save_file(weights, out / "port_weights.safetensors")
    cli_module("weights", "audit", demo_dir / "weights.safetensors",
               out / "port_weights.safetensors", "--json", out / "weights.json")
    cli_module("audio", "inspect", wav, out / "port_speech.wav", "--no-vad",
               "--json", out / "inspect.json")
    cli_module("audio", "compare", wav, out / "port_speech.wav", "--no-quality",
               "--json", out / "audio_compare.json")
    return out


@pytest.fixture(scope="session")
def cli_module():
    from audioparity.cli.main import main

    return lambda *args: main([str(a) for a in args])
