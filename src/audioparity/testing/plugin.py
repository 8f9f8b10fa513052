"""The pytest plugin (entry point ``pytest11: audioparity``): ``--audioparity-report DIR``.

With the option, every :func:`~audioparity.testing.assert_trace_parity` that fails writes
its HTML report into ``DIR`` (one file per failing assertion, named after the test) and
its message ends with the file's path; the terminal summary lists the reports.
"""

from __future__ import annotations

from pathlib import Path

from .reports import set_report_dir, written_reports


def pytest_addoption(parser) -> None:
    group = parser.getgroup("audioparity")
    group.addoption("--audioparity-report", metavar="DIR", default=None,
                    help="write the HTML report of each failing assert_trace_parity into DIR")


def pytest_configure(config) -> None:
    folder = config.getoption("audioparity_report", None)
    if folder:
        set_report_dir(Path(config.invocation_params.dir) / folder)


def pytest_unconfigure(config) -> None:
    if config.getoption("audioparity_report", None):
        set_report_dir(None)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    reports = written_reports()
    if reports:
        terminalreporter.section("audioparity reports")
        for path in reports:
            terminalreporter.write_line(str(path))
