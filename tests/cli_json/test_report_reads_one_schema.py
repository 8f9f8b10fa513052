"""``audioparity report`` reads results of this schema version only: an older result (no
``schema_version``) or another version is one line naming the file, exit 2, nothing written."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def compare_json(cli, inputs, tmp_path):
    target = tmp_path / "compare.json"
    cli("compare", inputs.ref_trace, inputs.port_trace, "--json", target)
    return json.loads(target.read_text())


def test_a_result_of_this_version_is_read(cli, compare_json, tmp_path):
    (tmp_path / "c.json").write_text(json.dumps(compare_json))
    code, _, err = cli("report", tmp_path / "c.json", "--out", tmp_path / "r.html")
    assert code == 1, err  # read, and the compare it shows is divergent
    assert (tmp_path / "r.html").stat().st_size > 0


@pytest.mark.parametrize(("version", "problem"), [
    (None, "without a schema_version (written by an older audioparity)"),
    (2, "schema version 2; this audioparity reads version 1"),
    ("1", "schema version '1'"),
    (1.5, "schema version 1.5"),
    (True, "schema version True"),
], ids=["none", "newer", "string", "float", "bool"])
def test_another_schema_version_is_one_line_exit_2(cli, compare_json, tmp_path, version,
                                                    problem):
    doc = dict(compare_json)
    if version is None:
        del doc["schema_version"]
    else:
        doc["schema_version"] = version
    path = tmp_path / "old.json"
    path.write_text(json.dumps(doc))
    code, _, err = cli("report", path, "--out", tmp_path / "r.html")
    assert code == 2 and err.count("\n") == 1
    assert str(path) in err and problem in err
    assert not (tmp_path / "r.html").exists()


def test_another_version_is_named_even_when_its_keys_changed(cli, tmp_path):
    path = tmp_path / "future.json"
    path.write_text(json.dumps({"schema_version": 2, "status": "parity", "pairs": []}))
    code, _, err = cli("report", path, "--out", tmp_path / "r.html")
    assert code == 2 and "schema version 2" in err
