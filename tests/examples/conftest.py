"""The demo reference, captured once per session: its trace, weights and prompt."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest


@dataclass(frozen=True)
class DemoFiles:
    ref_trace: Path
    weights: Path
    input_ids: np.ndarray


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory) -> DemoFiles:
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
    return DemoFiles(out / "ref.safetensors", save_weights(model, out / "weights.safetensors"),
                     as_numpy(ids))
