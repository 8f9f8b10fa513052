"""A channels-last port whose tensor is one sample short: the catalogue sees the length
difference in the reference's layout, not a layout mix-up."""

from __future__ import annotations

import numpy as np

from audioparity.compare import compare_traces
from audioparity.trace import write_trace


def test_a_sample_short_channels_last_tensor_is_named_length(tmp_path):
    rng = np.random.default_rng(0)
    ref = {f"conv.{i}": rng.standard_normal((1, 8, 64), dtype=np.float32) for i in range(3)}
    ref["out"] = rng.standard_normal((1, 4, 200), dtype=np.float32)
    port = {k: np.ascontiguousarray(v.transpose(0, 2, 1)) for k, v in ref.items()}
    port["out"] = np.ascontiguousarray(ref["out"][:, :, :199].transpose(0, 2, 1))  # [1,199,4]
    result = compare_traces(write_trace(tmp_path / "ref.safetensors", ref),
                            write_trace(tmp_path / "port.safetensors", port))
    first = result.first_divergence
    assert first is not None and first.name == "out" and first.entry.status == "shape"
    top = first.causes[0]
    assert top.cause == "length", [c.to_json() for c in first.causes]
