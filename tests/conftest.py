"""Shared fixtures: run the CLI in-process and capture its exit code and output."""

from __future__ import annotations

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
