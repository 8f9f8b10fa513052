"""``demo --out`` somewhere it cannot write: one line, exit 2, before any work is done."""

from __future__ import annotations


def test_out_under_a_file_exits_2(cli, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("keep me")
    code, _, err = cli("demo", "--out", blocker / "demo")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "cannot create the --out folder" in err and str(blocker) in err
    assert blocker.read_text() == "keep me"


def test_out_that_is_a_file_exits_2(cli, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("keep me")
    code, _, err = cli("demo", "--out", blocker)
    assert code == 2 and "is a file, not a folder" in err
    assert blocker.read_text() == "keep me"
