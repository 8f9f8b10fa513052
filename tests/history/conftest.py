"""Fixtures: the reference and port revisions of :mod:`history_model`."""

from __future__ import annotations

from pathlib import Path

import pytest
from history_model import model_trace


@pytest.fixture
def revisions(tmp_path):
    """``revisions(*layers)``: the reference and one port trace per revision (None: no bug)."""

    def make(*scaled_layers: int | None) -> tuple[Path, list[Path]]:
        ref = model_trace(tmp_path / "ref.safetensors")
        ports = [model_trace(tmp_path / f"port{i}.safetensors", layer)
                 for i, layer in enumerate(scaled_layers)]
        return ref, ports

    return make
