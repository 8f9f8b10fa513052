"""The pytest plugin: ``--audioparity-report DIR`` writes the HTML of failing assertions.

Each test runs pytest in a subprocess on a small test file, so the plugin is loaded the way
a port's suite loads it: through the ``pytest11`` entry point of the installed package.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

# A two-layer network in NumPy and a port of it whose second layer divides by 64 (an
# ISTFT-style 1/n_fft normalisation the reference does not apply).
PORT_TESTS = '''
import numpy as np
from audioparity.testing import assert_trace_parity

def traces(port_scale):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 16, 32)).astype(np.float32)
    w1, w2 = (rng.standard_normal((32, 32)).astype(np.float32) / 6 for _ in range(2))
    h = np.tanh(x @ w1)
    y = h @ w2
    ref = {"net.encoder": h, "net.decoder": y, "output": y}
    port = {"net.encoder": h, "net.decoder": y * port_scale, "output": y * port_scale}
    return ref, port

def test_faithful_port():
    assert_trace_parity(*traces(1.0))

def test_port_with_a_scale_bug():
    assert_trace_parity(*traces(1 / 64))
'''


@dataclass
class Run:
    code: int
    lines: list[str]
    folder: Path

    def has(self, *fragments: str) -> bool:
        """Whether one output line contains every fragment."""
        return any(all(f in line for f in fragments) for line in self.lines)


def run_pytest(folder: Path, *args: str) -> Run:
    """pytest in a fresh process on ``PORT_TESTS`` in ``folder`` (its own rootdir)."""
    (folder / "test_port.py").write_text(PORT_TESTS)
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           "test_port.py", *args], cwd=folder, capture_output=True,
                          text=True, timeout=300, check=False)  # a failing run is the point
    return Run(done.returncode, done.stdout.splitlines(), folder)


@pytest.mark.slow
def test_report_option_writes_the_html_of_each_failing_assertion(tmp_path):
    run = run_pytest(tmp_path, "--audioparity-report", "reports")
    assert run.code == 1 and run.has("1 failed, 1 passed")
    reports = sorted((tmp_path / "reports").iterdir())
    assert [p.name for p in reports] == ["test_port.py--test_port_with_a_scale_bug.html"]
    html = reports[0].read_text(encoding="utf-8")
    assert "<html" in html.lower() and "net.decoder" in html
    assert run.has("port diverges from the reference at net.decoder")
    assert run.has("  scale  ", "port = ref")
    assert run.has(f"HTML report: {reports[0]}")
    summary = run.lines.index(next(line for line in run.lines if "audioparity reports" in line))
    assert run.lines[summary + 1] == str(reports[0])


@pytest.mark.slow
def test_without_the_option_no_report_is_written(tmp_path):
    run = run_pytest(tmp_path)
    assert run.code == 1 and run.has("1 failed, 1 passed")
    assert not list(tmp_path.rglob("*.html"))
    assert not [line for line in run.lines if line.startswith("E") and "HTML report" in line]


@pytest.mark.slow
def test_an_unwritable_report_folder_is_said_in_the_message(tmp_path):
    (tmp_path / "taken").write_text("a file, not a folder")
    run = run_pytest(tmp_path, "--audioparity-report", "taken")
    assert run.code == 1 and run.has("1 failed, 1 passed")
    assert run.has("port diverges from the reference at net.decoder")
    assert run.has("HTML report not written: ", "taken")
