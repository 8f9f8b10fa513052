"""Fixtures for the pytest helpers: the demo reference (a real transformers Qwen3 plus a
Vocos-style head), captured once, and its NumPy port with or without a planted bug."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest


@dataclass(frozen=True)
class Demo:
    ref_trace: Path
    weights: Path
    input_ids: np.ndarray

    def port(self, out: Path, bugs: dict | None = None) -> Path:
        """The NumPy port's trace (``bugs``: kind -> layer, see ``BUG_KINDS``) at ``out``."""
        from audioparity.examples.numpy_port import NumpyPort

        NumpyPort.from_safetensors(self.weights, bugs=bugs).trace(self.input_ids, out)
        return out


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Demo:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from audioparity.examples.reference import (
        as_numpy,
        build_reference,
        demo_input_ids,
        save_weights,
        trace_reference,
    )

    out = tmp_path_factory.mktemp("demo")
    model = build_reference()
    ids = demo_input_ids()
    trace_reference(model, ids, out / "ref.safetensors")
    return Demo(out / "ref.safetensors", save_weights(model, out / "weights.safetensors"),
                as_numpy(ids))
