"""Shared fixtures: run the CLI in-process and capture its exit code and output; the demo
reference, captured once per session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from audioparity.cli.main import main


@pytest.fixture
def cli(capsys):
    """``cli("compare", a, b) -> (exit_code, stdout, stderr)``."""

    def run(*args: object) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@dataclass(frozen=True)
class DemoFiles:
    ref_trace: Path
    weights: Path
    input_ids: np.ndarray

    def port(self, out: Path, bugs: dict | None = None) -> Path:
        """The NumPy port's trace (``bugs``: kind -> layer, see ``BUG_KINDS``) at ``out``."""
        from audioparity.examples.numpy_port import NumpyPort

        NumpyPort.from_safetensors(self.weights, bugs=bugs).trace(self.input_ids, out)
        return out


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory) -> DemoFiles:
    """The demo reference (a real transformers Qwen3 plus a Vocos-style head): its trace,
    weights and prompt."""
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
