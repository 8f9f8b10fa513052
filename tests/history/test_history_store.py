"""The history database: runs round-trip, foreign files are refused untouched, concurrent
appends all land."""

from __future__ import annotations

import multiprocessing
import sqlite3

import pytest
from history_model import model_trace

from audioparity.compare import compare_traces
from audioparity.errors import InputError
from audioparity.history import append_run, check_history, read_runs, run_from_compare
from audioparity.history.store import APPLICATION_ID


def _run(ref, port, label=None):
    return run_from_compare(compare_traces(ref, port).to_json(), label=label)


def test_a_compare_round_trips_with_its_fingerprints(revisions, tmp_path):
    ref, (port,) = revisions(5)
    db = tmp_path / "h.sqlite"
    run_id = append_run(db, _run(ref, port, label="abc123"))
    [back] = read_runs(db)
    assert back.id == run_id and back.label == "abc123" and back.status == "divergent"
    assert (back.first_name, back.first_index, back.first_cause) == ("layers.5", 6, "scale")
    assert (back.pairs, back.failing) == (9, 3)  # exact: counts
    assert back.port.path == str(port) and back.port.bytes == port.stat().st_size
    assert len(back.port.sha256_1mib) == 64 and back.ref.sha256_1mib != back.port.sha256_1mib
    assert back.recorded_utc.endswith("+00:00")


def test_a_rewritten_port_file_gets_a_new_fingerprint(revisions, tmp_path):
    ref, (port,) = revisions(5)
    db = tmp_path / "h.sqlite"
    append_run(db, _run(ref, port))
    model_trace(port, scaled_layer=2)  # the next revision, written to the same path
    append_run(db, _run(ref, port))
    first, second = read_runs(db)
    assert first.port.path == second.port.path
    assert first.port.sha256_1mib != second.port.sha256_1mib
    assert first.ref.sha256_1mib == second.ref.sha256_1mib


def _foreign_sqlite(path):
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE notes (text TEXT)")
    con.close()


def _newer_history(path):
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE runs (id INTEGER)")
        con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        con.execute("PRAGMA user_version = 2")
    con.close()


@pytest.mark.parametrize(("make", "problem"), [
    (lambda p: p.write_text("id,status\n1,parity\n"), "not an SQLite database"),
    (lambda p: p.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200), "unusable"),
    (_foreign_sqlite, "another schema"),
    (_newer_history, "schema version 2"),
    (lambda p: p.mkdir(), "is a directory"),
], ids=["csv", "corrupt", "foreign-sqlite", "newer-version", "folder"])
def test_a_file_that_is_not_our_history_is_refused_untouched(revisions, tmp_path, make,
                                                              problem):
    ref, (port,) = revisions(5)
    db = tmp_path / "h.sqlite"
    make(db)
    before = db.read_bytes() if db.is_file() else None
    for action in (lambda: append_run(db, _run(ref, port)), lambda: read_runs(db),
                   lambda: check_history(db)):
        with pytest.raises(InputError, match=problem) as info:
            action()
        assert str(db) in str(info.value) and "\n" not in str(info.value)
    assert (db.read_bytes() if db.is_file() else None) == before


def test_reading_a_missing_history_creates_nothing(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_runs(tmp_path / "none.sqlite")
    assert not (tmp_path / "none.sqlite").exists()
    check_history(tmp_path / "none.sqlite")  # a new file is fine to record into
    assert not (tmp_path / "none.sqlite").exists()


def _append_many(db, run, n):
    for _ in range(n):
        append_run(db, run)


def test_concurrent_appends_all_land(revisions, tmp_path):
    ref, (port,) = revisions(5)
    db, run = tmp_path / "h.sqlite", _run(ref, port)
    workers = [multiprocessing.get_context("fork").Process(target=_append_many,
                                                           args=(db, run, 15))
               for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]  # exact: exit codes
    runs = read_runs(db)
    assert len(runs) == 60 and len({r.id for r in runs}) == 60  # exact: counts
