"""``audioparity compare`` start-up: a plain compare imports only what it uses (the generation
stack, history, HTML report, YAML parser and explain catalogue stay unloaded)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np

from audioparity.trace import TraceWriter

_OPTIONAL = ("audioparity.generation", "audioparity.history", "audioparity.explain",
             "audioparity.report.html", "yaml", "rich.progress")


def _traces(tmp: Path, gain: float) -> tuple[Path, Path]:
    """Two 3-tensor traces; the port's last tensor is the reference's times ``gain``."""
    rng = np.random.default_rng(0)
    ref, port = tmp / "ref.safetensors", tmp / "port.safetensors"
    with TraceWriter(ref) as r, TraceWriter(port) as p:
        for i in range(3):
            x = rng.standard_normal((4, 32)).astype(np.float32)
            r.add(f"model.layers.{i}", x)
            p.add(f"model.layers.{i}", x * np.float32(gain if i == 2 else 1.0))
    return ref, port


def _loaded_after_compare(ref: Path, port: Path, tmp: Path) -> tuple[int, list[str]]:
    """Exit code of a compare run in a fresh process, and which of ``_OPTIONAL`` it loaded."""
    probe = ("import sys; from audioparity.cli.main import main; "
             f"code = main(['compare', {str(ref)!r}, {str(port)!r}, '--json', "
             f"{str(tmp / 'out.json')!r}]); "
             f"print(code, sorted(m for m in {_OPTIONAL!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=120).stdout.splitlines()
    code, loaded = out[-1].split(" ", 1)
    return int(code), ast.literal_eval(loaded)


def test_a_plain_parity_compare_loads_no_optional_module(tmp_path):
    code, loaded = _loaded_after_compare(*_traces(tmp_path, 1.0), tmp_path)
    assert code == 0
    assert loaded == []


def test_a_divergence_loads_the_explain_catalogue(tmp_path):
    code, loaded = _loaded_after_compare(*_traces(tmp_path, 2.0), tmp_path)
    assert code == 1
    assert "audioparity.explain" in loaded
    assert "audioparity.generation" not in loaded and "yaml" not in loaded
