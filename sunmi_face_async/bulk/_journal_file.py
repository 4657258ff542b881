"""Opening a journal file safely, and the errors a journal raises.

A journal on resume must be the one the job wrote: a missing, empty or damaged file is
refused (never taken as an empty journal, which would send everything again), and a journal
written for another job is refused with what differs. An I/O failure (full disk, read-only
folder) breaks the journal for good: it is reported once, naming the file and the cause.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Mapping
from typing import Any

from ..errors import SunmiError

__all__ = [
    "SCHEMA_VERSION",
    "JournalError",
    "JournalMismatchError",
    "bind_job",
    "check_present",
    "connect",
    "failure",
    "job_differences",
    "read_job",
]

#: Version 2 added the ``job`` row (the job a journal belongs to) and the item columns
#: naming each item (picture, name, external key, attributes). Version 3 added the
#: ``confirmations`` table (what the platform said of each accepted face) and the
#: ``rejected`` item status; an older journal gains the table when it is opened.
SCHEMA_VERSION = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    key TEXT PRIMARY KEY,
    group_id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    face_id TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    run_id TEXT,
    line INTEGER,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS items_by_picture ON items (group_id, content_hash);
CREATE TABLE IF NOT EXISTS job (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    schema INTEGER NOT NULL,
    identity TEXT NOT NULL,
    settings TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS confirmations (
    face_id TEXT PRIMARY KEY,
    code INTEGER NOT NULL,
    reason TEXT NOT NULL,
    source TEXT NOT NULL,
    received_at REAL NOT NULL,
    group_id TEXT
);
"""
# Columns added by schema 2 to journals written by version 1.
_ITEM_COLUMNS = {"picture": "TEXT", "name": "TEXT", "external_key": "TEXT", "attrs": "TEXT"}


class JournalError(SunmiError):
    """The journal cannot be used. ``kind`` is ``missing``, ``empty``, ``damaged``,
    ``newer``, ``mismatch``, ``foreign`` (another kind of file, e.g. a sync journal),
    ``busy`` (another process has it open) or ``io``; ``path``
    names the file, ``cause`` the reason."""

    def __init__(self, path: str, kind: str, cause: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.kind = kind
        self.cause = cause
        #: Uploads the server answered whose answer this journal could not record, by key:
        #: (the picture or key, for people; the face_id, or None for a refusal). A resumed
        #: job finds them in flight, outcome unknown.
        self.unrecorded: dict[str, tuple[str, str | None]] = {}


class JournalMismatchError(JournalError):
    """The journal belongs to another job; ``differences`` holds (setting, journal, now)."""

    def __init__(self, path: str, differences: list[tuple[str, Any, Any]]) -> None:
        said = "; ".join(
            f"{name}: {then!r} in the journal, {now!r} now" for name, then, now in differences
        )
        super().__init__(
            path, "mismatch", said, f"the journal {path} belongs to another job ({said})"
        )
        self.differences = differences


#: Python 3.10's sqlite3 errors carry no ``sqlite_errorname`` (new in 3.11): there, SQLite's
#: standard messages for the codes that matter here stand in for it.
_CODES_BY_MESSAGE = {
    "file is not a database": "SQLITE_NOTADB",
    "database disk image is malformed": "SQLITE_CORRUPT",
    "unable to open database file": "SQLITE_CANTOPEN",
    "attempt to write a readonly database": "SQLITE_READONLY",
    "disk I/O error": "SQLITE_IOERR",
    "database or disk is full": "SQLITE_FULL",
}


def failure(path: str, exc: sqlite3.Error) -> JournalError:
    """The one error to report for a SQLite failure on ``path``, with the OS cause if any."""
    text = str(exc) or type(exc).__name__
    code = getattr(exc, "sqlite_errorname", "") or _CODES_BY_MESSAGE.get(text, "")
    if code in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or "malformed" in text:
        return _damaged(path, text)
    cause = text
    if code.startswith(("SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_FULL")):
        os_cause = _os_cause(path)
        if os_cause == os.strerror(errno.ENOSPC) and code != "SQLITE_FULL":
            # SQLite says "disk I/O error" when e.g. the WAL index cannot grow on a full disk.
            cause = f"database or disk is full ({text}: {os_cause})"
        elif os_cause:
            cause = f"{text} ({os_cause})"
    return JournalError(path, "io", cause, f"cannot write the journal {path}: {cause}")


_PROBE_BYTES = 64 * 1024


def _os_cause(path: str) -> str:
    """What the operating system says when the journal's folder or file is written to."""
    folder = os.path.dirname(os.path.abspath(path))
    probes = [p for p in (path, path + "-wal") if os.path.exists(p)]
    try:
        for probe in probes:
            with open(probe, "ab"):
                pass
        with tempfile.TemporaryFile(dir=folder) as probe_file:
            # A few pages, as SQLite would write them: a full disk still creates empty files.
            probe_file.write(b"\0" * _PROBE_BYTES)
            probe_file.flush()
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return ""


def _damaged(path: str, why: str) -> JournalError:
    return JournalError(path, "damaged", why, f"the journal {path} is damaged: {why}")


def connect(path: str, *, resume: bool | None) -> sqlite3.Connection:
    """Open (or create) the journal at ``path``, checked, with the current schema.

    ``resume=True``: the file must exist and hold a job. Every existing file is checked
    (``PRAGMA quick_check``) before it is used.
    """
    private = path in ("", ":memory:")
    if not private and resume:
        check_present(path)
    conn: sqlite3.Connection | None = None
    try:
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        if not private:
            if os.path.exists(path) and os.path.getsize(path) > 0:
                verdict = [row[0] for row in conn.execute("PRAGMA quick_check(5)")]
                if verdict != ["ok"]:
                    raise _damaged(path, "; ".join(str(v) for v in verdict))
                _check_enroll_file(conn, path)
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        _create_schema(conn)
        _check_job_row(conn, path, resume)
    except sqlite3.Error as exc:
        if conn is not None:
            conn.close()
        raise failure(path, exc) from None
    except BaseException:
        if conn is not None:
            conn.close()
        raise
    return conn


def _check_enroll_file(conn: sqlite3.Connection, path: str) -> None:
    """Refuse a database with tables but no ``items`` (a sync journal, another program's
    file) before any table is added to it."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if tables and "items" not in tables:
        what = " (a sync journal?)" if "actions" in tables else ""
        cause = "it has no items table"
        raise JournalError(
            path, "foreign", cause, f"{path} is not an enroll journal{what}: {cause}"
        )


def _create_schema(conn: sqlite3.Connection) -> None:
    """The tables and the schema 2 columns, in one transaction: all of it or nothing, and
    never half of it seen by another connection (which would then add a column twice)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        have = {row[1] for row in conn.execute("PRAGMA table_info(items)")}
        for column, kind in _ITEM_COLUMNS.items():
            if column not in have:
                conn.execute(f"ALTER TABLE items ADD COLUMN {column} {kind}")
        have = {row[1] for row in conn.execute("PRAGMA table_info(confirmations)")}
        if "group_id" not in have:  # the group a push named, if any
            conn.execute("ALTER TABLE confirmations ADD COLUMN group_id TEXT")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise


def check_present(path: str) -> None:
    """Refuse to resume from a journal that is missing, unreadable or empty (one
    ``JournalError`` naming the file and the cause)."""
    try:
        size = os.path.getsize(path)
    except FileNotFoundError:
        raise JournalError(
            path, "missing", "no such file", f"there is no journal at {path} to resume"
        ) from None
    except OSError as exc:
        cause = exc.strerror or type(exc).__name__
        raise JournalError(path, "io", cause, f"cannot read the journal {path}: {cause}") from None
    if size == 0:
        raise JournalError(
            path,
            "empty",
            "0 bytes",
            f"the journal {path} is empty (0 bytes): it records no job and cannot be resumed",
        )


def _check_job_row(conn: sqlite3.Connection, path: str, resume: bool | None) -> None:
    row = conn.execute("SELECT schema FROM job WHERE id = 1").fetchone()
    if row is not None and int(row[0]) > SCHEMA_VERSION:
        raise JournalError(
            path,
            "newer",
            f"schema {row[0]}",
            f"the journal {path} was written by a newer version (schema {row[0]}); upgrade",
        )
    if resume and row is None and conn.execute("SELECT 1 FROM items LIMIT 1").fetchone() is None:
        raise JournalError(
            path,
            "empty",
            "no job recorded",
            f"the journal {path} records no job and no item: there is nothing to resume",
        )


def job_differences(
    stored: Mapping[str, Any], now: Mapping[str, Any]
) -> list[tuple[str, Any, Any]]:
    """(setting, journal's value, current value) for each setting that differs."""
    names = list(dict.fromkeys([*stored, *now]))
    # Compare as JSON would store them (tuples become lists).
    return [
        (name, stored.get(name), now.get(name))
        for name in names
        if _norm(stored.get(name)) != _norm(now.get(name))
    ]


def _norm(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def read_job(conn: sqlite3.Connection) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The recorded job's identity and settings, if a job is recorded."""
    found = conn.execute("SELECT identity, settings FROM job WHERE id = 1").fetchone()
    if found is None:
        return None
    return dict(json.loads(found[0])), dict(json.loads(found[1]))


def bind_job(
    conn: sqlite3.Connection, path: str, identity: Mapping[str, Any], settings: Mapping[str, Any]
) -> None:
    """Record the job, or raise ``JournalMismatchError`` if another one is recorded."""
    recorded = read_job(conn)
    if recorded is not None:
        differences = job_differences(recorded[0], identity)
        if differences:
            raise JournalMismatchError(path, differences)
        return
    conn.execute(
        "INSERT INTO job (id, schema, identity, settings, created_at) VALUES (1, ?, ?, ?, ?)",
        (
            SCHEMA_VERSION,
            json.dumps(dict(identity), sort_keys=True, default=str),
            json.dumps(dict(settings), sort_keys=True, default=str),
            time.time(),
        ),
    )


def rollback(conn: sqlite3.Connection) -> None:
    """Roll back an open transaction, if any: SQLite may have rolled back already, or cannot."""
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
