"""Fixtures for the weights tests: the seed 002 files (see :mod:`weights_seed002`)."""

from __future__ import annotations

import pytest
from weights_seed002 import S3GenLike, build_reference, mlx_port_state, state_arrays

from audioparity.trace import write_trace


@pytest.fixture(scope="session")
def seed002(tmp_path_factory):
    """Reference safetensors, the buggy MLX port, and a port dump whose decoder is at init."""
    root = tmp_path_factory.mktemp("seed002")
    model, tokens = build_reference()
    ref = state_arrays(model)
    write_trace(root / "ref.safetensors", ref)
    write_trace(root / "port.safetensors", mlx_port_state(ref))
    fresh = S3GenLike()  # reset_parameters(): what a loader that skipped the decoder leaves
    unloaded = dict(ref)
    for k, v in fresh.state_dict().items():
        if k.startswith("decoder."):
            unloaded[k] = v.numpy().copy()
    write_trace(root / "unloaded.safetensors", unloaded)
    return {"root": root, "ref": root / "ref.safetensors", "port": root / "port.safetensors",
            "unloaded": root / "unloaded.safetensors", "model": model, "tokens": tokens}
