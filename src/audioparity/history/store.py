"""The history database: one SQLite file, one row per recorded compare.

The file is marked as ours in its header (``PRAGMA application_id``) with its schema
version in ``PRAGMA user_version``; any other file — not SQLite, another application's
database, another schema version — is :class:`~audioparity.errors.InputError` (one line,
exit 2) and is left untouched. Appends run in one ``BEGIN IMMEDIATE`` transaction each
(schema creation included) with a busy timeout, so compares recording into the same file
at the same time each add their row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from ..errors import InputError
from .fingerprint import Fingerprint
from .run import Run

APPLICATION_ID = 0x41504859  # "APHY"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 60.0
"""How long an append waits for another process's transaction on the same file."""
_SQLITE_MAGIC = b"SQLite format 3\x00"
_FILE_FIELDS = ("path", "bytes", "mtime_utc", "sha256_1mib")
_RUN_FIELDS = ("recorded_utc", "label", "status", "first_name", "first_index", "first_cause",
               "first_confidence", "first_detail", "pairs", "failing", "unmatched_ref",
               "unmatched_port")
_COLUMNS = (_RUN_FIELDS[:2] + tuple(f"ref_{f}" for f in _FILE_FIELDS)
            + tuple(f"port_{f}" for f in _FILE_FIELDS) + _RUN_FIELDS[2:])
_SCHEMA = f"""
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    recorded_utc TEXT NOT NULL, label TEXT,
    ref_path TEXT NOT NULL, ref_bytes INTEGER, ref_mtime_utc TEXT, ref_sha256_1mib TEXT,
    port_path TEXT NOT NULL, port_bytes INTEGER, port_mtime_utc TEXT, port_sha256_1mib TEXT,
    status TEXT NOT NULL, first_name TEXT, first_index INTEGER, first_cause TEXT,
    first_confidence REAL, first_detail TEXT, pairs INTEGER NOT NULL, failing INTEGER NOT NULL,
    unmatched_ref INTEGER NOT NULL, unmatched_port INTEGER NOT NULL);
PRAGMA application_id = {APPLICATION_ID};
PRAGMA user_version = {SCHEMA_VERSION};
"""


def _check_header(path: Path) -> None:
    """Refuse a path that is a folder or a non-empty file that is not SQLite."""
    if path.is_dir():
        raise InputError(path, "is a directory, not a history database")
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise InputError(path, f"cannot read the history database: {exc.strerror}") from None
    if head and head != _SQLITE_MAGIC:
        raise InputError(path, "not an SQLite database (a history database is one, written "
                               "by compare --history)")


def _schema_state(con: sqlite3.Connection, path: Path) -> str:
    """``ours`` or ``empty`` (a new file); another schema raises InputError."""
    app_id = con.execute("PRAGMA application_id").fetchone()[0]
    version = con.execute("PRAGMA user_version").fetchone()[0]
    tables = con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if app_id == APPLICATION_ID:
        if version != SCHEMA_VERSION:
            raise InputError(path, f"history database of schema version {version}; this "
                                   f"audioparity reads version {SCHEMA_VERSION}")
        return "ours"
    if app_id == 0 and tables == 0:
        return "empty"
    raise InputError(path, "an SQLite database of another schema, not an audioparity history "
                           "(give a new file name to start a history)")


@contextmanager
def _connect(path: Path, readonly: bool) -> Iterator[sqlite3.Connection]:
    """A connection with errors turned into one-line InputErrors."""
    target = f"{path.resolve().as_uri()}?mode={'ro' if readonly else 'rwc'}"
    try:
        with closing(sqlite3.connect(target, uri=True, timeout=BUSY_TIMEOUT_S,
                                     isolation_level=None)) as con:
            yield con
    except sqlite3.DatabaseError as exc:
        raise InputError(path, f"history database unusable: {exc}") from None


def append_run(path: str | Path, run: Run) -> int:
    """Add ``run`` to the history at ``path`` (created when missing); returns its id."""
    p = Path(path)
    _check_header(p)
    values = ((run.recorded_utc, run.label)
              + tuple(getattr(run.ref, f) for f in _FILE_FIELDS)
              + tuple(getattr(run.port, f) for f in _FILE_FIELDS)
              + tuple(getattr(run, f) for f in _RUN_FIELDS[2:]))
    with _connect(p, readonly=False) as con:
        con.execute("BEGIN IMMEDIATE")
        try:
            if _schema_state(con, p) == "empty":
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        con.execute(statement)
            cursor = con.execute(f"INSERT INTO runs ({', '.join(_COLUMNS)}) VALUES "
                                 f"({', '.join('?' * len(_COLUMNS))})", values)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return int(cursor.lastrowid)


def check_history(path: str | Path) -> None:
    """Raise InputError now if ``path`` cannot take a new run (before a long compare)."""
    p = Path(path)
    _check_header(p)
    if p.exists():
        with _connect(p, readonly=True) as con:
            _schema_state(con, p)
    elif not p.parent.is_dir():
        raise InputError(p, "its folder does not exist")


def read_runs(path: str | Path) -> list[Run]:
    """Every run recorded at ``path``, oldest first."""
    p = Path(path)
    if not p.exists():
        raise InputError(p, "no such file (record runs with compare --history)")
    _check_header(p)
    with _connect(p, readonly=True) as con:
        if _schema_state(con, p) == "empty":
            return []
        rows = con.execute(f"SELECT id, {', '.join(_COLUMNS)} FROM runs ORDER BY id").fetchall()
    return [_run(row) for row in rows]


def _run(row: tuple) -> Run:
    values = dict(zip(("id",) + _COLUMNS, row, strict=True))

    def file(side: str) -> Fingerprint:
        return Fingerprint(*(values[f"{side}_{f}"] for f in _FILE_FIELDS))

    return Run(ref=file("ref"), port=file("port"), id=values["id"],
               **{f: values[f] for f in _RUN_FIELDS})
