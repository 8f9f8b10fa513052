"""The pytest plugin: ``--audioparity-report DIR`` writes the HTML of failing assertions.

Each test runs pytest in a subprocess on a small test file, so the plugin is loaded the way
a port's suite loads it: through the ``pytest11`` entry point of the installed package.
"""

from __future__ import annotations

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


@pytest.mark.slow
def test_report_option_writes_the_html_of_each_failing_assertion(pytester):
    pytester.makepyfile(test_port=PORT_TESTS)
    result = pytester.runpytest_subprocess("--audioparity-report", "reports")
    result.assert_outcomes(passed=1, failed=1)
    reports = sorted((pytester.path / "reports").iterdir())
    assert [p.name for p in reports] == ["test_port.py--test_port_with_a_scale_bug.html"]
    html = reports[0].read_text(encoding="utf-8")
    assert "<html" in html.lower() and "net.decoder" in html
    result.stdout.fnmatch_lines([
        "*port diverges from the reference at net.decoder*",
        "*scale*",
        f"*HTML report: {reports[0]}*",
    ])
    result.stdout.fnmatch_lines(["*audioparity reports*", f"{reports[0]}"])


@pytest.mark.slow
def test_without_the_option_no_report_is_written(pytester):
    pytester.makepyfile(test_port=PORT_TESTS)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1, failed=1)
    assert not list(pytester.path.rglob("*.html"))
    assert not [line for line in result.stdout.lines
                if line.startswith("E") and "HTML report" in line]


@pytest.mark.slow
def test_an_unwritable_report_folder_is_said_in_the_message(pytester):
    pytester.makepyfile(test_port=PORT_TESTS)
    (pytester.path / "taken").write_text("a file, not a folder")
    result = pytester.runpytest_subprocess("--audioparity-report", "taken")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*port diverges from the reference at net.decoder*",
                                 "*HTML report not written: *taken*"])
