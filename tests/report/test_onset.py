"""Where the first divergent tensor goes off: the numbers behind the report's heat map."""

from __future__ import annotations

import time

import numpy as np
import pytest

from audioparity.report.figures import heatmap_png
from audioparity.report.onset import HEAT_COLS, HEAT_ROWS, pair_view, read_pair

FIRST = "lm.model.layers.0.self_attn.apply_rotary_pos_emb"


@pytest.mark.slow
def test_demo_rope_bug_starts_at_the_second_position(demo_dir):
    """Interleaved vs half-split RoPE agree at position 0 (cos 1, sin 0): onset at 1."""
    import json

    doc = json.loads((demo_dir / "compare.json").read_text())
    entry = doc["entries"][doc["first_divergence"]["index"]]
    assert entry["name"] == FIRST
    ref, port = read_pair(demo_dir / "ref.safetensors", demo_dir / "port.safetensors", entry)
    view = pair_view(ref, port, entry["rtol"], entry["atol"])
    assert view.heat_axes == (2, 3) and view.heat.shape == (24, 16)
    assert {p.axis: p.onset for p in view.profiles}[2] == 1
    assert view.excerpts[0].center[2] == 1
    assert heatmap_png(view, "t").startswith("data:image/png;base64,")


def test_onset_of_a_mask_like_error_along_the_sequence():
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((1, 8, 300, 64)).astype(np.float32)
    port = ref.copy()
    port[:, :, 137:, :] += 0.1
    view = pair_view(ref, port, 1e-4, 1e-6)
    onsets = {p.axis: p.onset for p in view.profiles}
    assert onsets == {1: 0, 2: 137, 3: 0}
    assert view.heat_axes == (2, 3)
    assert view.excerpts[0].center == (0, 0, 137, 0)


def test_big_tensors_are_downsampled_and_stay_fast():
    ref = np.zeros((1, 512, 40_000), np.float32)
    port = ref.copy()
    port[0, 300, 25_000] = np.nan
    start = time.perf_counter()
    view = pair_view(ref, port, 1e-4, 1e-6)
    assert time.perf_counter() - start < 10
    assert view.heat.shape[0] <= HEAT_ROWS and view.heat.shape[1] <= HEAT_COLS
    assert {p.axis: p.onset for p in view.profiles} == {1: 300, 2: 25_000}
    assert any("NaN/Inf" in n for n in view.notes)
    heatmap_png(view, "nan")  # NaN cells draw


def test_one_and_zero_dimensional_pairs():
    view = pair_view(np.arange(10.0), np.arange(10.0) * 2, 0.0, 0.5)
    assert view.heat.shape == (1, 10) and view.profiles[0].onset == 1
    scalar = pair_view(np.float32(1.0), np.float32(3.0), 0.0, 0.1)
    assert scalar.profiles == [] and scalar.excerpts[0].rows[0][1:] == (1.0, 3.0, 2.0)
