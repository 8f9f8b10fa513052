"""``compare --history DB --label REV`` records each run; ``audioparity history DB`` shows how
the first divergence moved and exits 1 when the latest revision moved it earlier."""

from __future__ import annotations

import json

import pytest


def _record(cli, ref, port, db, label):
    code, _, err = cli("compare", ref, port, "--history", db, "--label", label)
    assert code in (0, 1), err
    return code


def test_history_follows_the_first_divergence_across_revisions(cli, revisions, tmp_path):
    ref, ports = revisions(5, None, 2, 6)
    db = tmp_path / "history.sqlite"
    for port, label in zip(ports[:3], ("rev1", "rev2", "rev3"), strict=True):
        _record(cli, ref, port, db, label)

    code, out, err = cli("history", db)
    assert code == 1, err  # rev3 moved the first divergence from past the end to layers.2
    lines = out.splitlines()
    rows = {label: next(line for line in lines if f" {label} " in line)
            for label in ("rev1", "rev2", "rev3")}
    assert "layers.5" in rows["rev1"] and "7/9" in rows["rev1"] and "first" in rows["rev1"]
    assert "parity" in rows["rev2"] and "▶ later +3" in rows["rev2"]
    assert "layers.2" in rows["rev3"] and "◀ earlier -6" in rows["rev3"]
    assert "scale" in rows["rev3"] and "●" in rows["rev3"]
    assert "problem: run #3 moved the first divergence earlier" in out

    _record(cli, ref, ports[3], db, "rev4")
    code, out, err = cli("history", db, "--json", "-", "--last", "2")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["status"] == "ok" and doc["schema_version"] == 1 and not doc["regressed"]
    assert doc["runs_recorded"] == 4 and [r["label"] for r in doc["runs"]] == ["rev3", "rev4"]
    rev3, rev4 = doc["runs"]
    assert rev4["move"] == {"direction": "later", "by": 4, "previous_id": rev3["id"]}
    assert rev4["first_divergence"]["name"] == "layers.6"
    assert rev4["first_divergence"]["cause"] == "scale"
    assert rev4["port"]["sha256_1mib"] != rev3["port"]["sha256_1mib"]


def test_label_without_history_is_a_usage_error(cli, revisions):
    ref, (port,) = revisions(5)
    code, _, err = cli("compare", ref, port, "--label", "rev1")
    assert code == 2 and "--history" in err and err.count("\n") == 1


def test_a_history_that_is_not_sqlite_stops_compare_before_it_runs(cli, revisions, tmp_path):
    ref, (port,) = revisions(5)
    db = tmp_path / "notes.txt"
    db.write_text("rev1 was fine\n")
    code, out, err = cli("compare", ref, port, "--history", db, "--json", "-")
    assert code == 2 and err.count("\n") == 1
    assert str(db) in err and "not an SQLite database" in err
    assert json.loads(out)["status"] == "error"  # the compare's own JSON never came
    assert db.read_text() == "rev1 was fine\n"


@pytest.mark.parametrize(("make", "problem"), [
    (lambda p: None, "no such file"),
    (lambda p: p.write_bytes(b""), "holds no recorded compare yet"),
    (lambda p: p.write_bytes(b"\x00" * 100), "not an SQLite database"),
], ids=["missing", "empty", "binary"])
def test_history_of_an_unusable_database_is_one_line_exit_2(cli, tmp_path, make, problem):
    db = tmp_path / "h.sqlite"
    make(db)
    code, out, err = cli("history", db, "--json", "-")
    assert code == 2 and err.count("\n") == 1 and problem in err and str(db) in err
    assert json.loads(out) == {"schema_version": 1, "status": "error",
                               "error": err.removeprefix("audioparity: error: ").strip()}
