"""Output files follow the umask, like any file the user's shell would create."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from audioparity.atomic import write_text_atomic
from audioparity.trace import write_trace


@pytest.fixture(params=[0o022, 0o027, 0o077])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_trace_and_json_follow_the_umask(tmp_path, umask, cli):
    trace = write_trace(tmp_path / "ref.safetensors", {"a": np.ones(3, np.float32)})
    write_text_atomic(tmp_path / "note.txt", "x")
    assert _mode(trace) == 0o666 & ~umask
    assert _mode(tmp_path / "note.txt") == 0o666 & ~umask
    code, _, err = cli("compare", trace, trace, "--json", tmp_path / "out.json")
    assert code == 0, err
    assert _mode(tmp_path / "out.json") == 0o666 & ~umask
    assert not list(tmp_path.glob(".*.tmp"))


def test_rewriting_an_output_keeps_its_mode(tmp_path, umask):
    path = tmp_path / "report.json"
    path.write_text("{}")
    path.chmod(0o640)
    write_text_atomic(path, "{}\n")
    assert _mode(path) == 0o640
