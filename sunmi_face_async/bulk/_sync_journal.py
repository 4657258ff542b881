"""The sync journal: the pictures sync uploaded, per key, and its actions in flight.

A SQLite file (WAL) that every run of one sync job reuses. ``pictures`` keeps, per external
key, the face sync uploaded and the sha256 of its picture (with the file's path, size and
mtime, so an untouched file is not read again to be hashed); ``actions`` is write-ahead:
an action is recorded in flight *before* its request goes out and removed once it is done,
so a run killed at any point leaves the actions whose outcome is unknown, and the next run
re-plans them from the server (an add that landed is found by its key and adopted).

The job row, the lock and the error messages are the enroll journal's: one process per
file (``flock``, refused naming the owner's pid), a journal of another job is refused
(``JournalMismatchError`` naming each difference), ``resume=True`` refuses a missing or
empty file, and a failed write breaks the journal with one ``JournalError``. Never the
app_key and never a picture.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import anyio.to_thread
import attrs

from ._journal_file import (
    JournalError,
    JournalMismatchError,
    bind_job,
    check_present,
    failure,
    job_differences,
    read_job,
    rollback,
)
from ._journal_lock import JournalLock, discard
from ._sync_records import InFlight, PictureRecord

__all__ = ["InFlight", "PictureRecord", "SyncJournal"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS job (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    schema INTEGER NOT NULL,
    identity TEXT NOT NULL,
    settings TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS pictures (
    key TEXT PRIMARY KEY,
    face_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    path TEXT,
    size INTEGER,
    mtime_ns INTEGER,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS actions (
    key TEXT PRIMARY KEY,
    action TEXT NOT NULL,
    status TEXT NOT NULL,
    face_id TEXT,
    group_id TEXT,
    sha256 TEXT,
    error TEXT,
    run_id TEXT NOT NULL,
    updated_at REAL NOT NULL
);
"""


class SyncJournal:
    """The sync journal at ``path`` (``""``: a private, temporary one with no records)."""

    def __init__(self, path: str | os.PathLike[str], *, resume: bool | None = None) -> None:
        self.path = os.fspath(path)
        self.resume = resume
        self.run_id = uuid.uuid4().hex
        self._conn: sqlite3.Connection | None = None
        self._lock: JournalLock | None = None
        self._mutex = threading.Lock()
        self.broken: JournalError | None = None

    # -- opening -----------------------------------------------------------------------------

    def open(
        self,
        identity: Mapping[str, Any],
        settings: Mapping[str, Any] | None = None,
        *,
        run: Mapping[str, Any] | None = None,
        record_run: bool = False,
    ) -> None:
        """Lock, open, check and bind the journal to the job ``identity`` (raises
        ``JournalError`` / ``JournalMismatchError``); a file this call created and could
        not set up is removed again.

        ``run`` holds the flags a run may change (``prune``...): with ``resume`` they must
        be those of the last run recorded (``JournalMismatchError`` naming each), since a
        resume finishes that run; ``record_run`` records them as the last run's."""
        private = self.path in ("", ":memory:")
        if not private and self.resume:
            check_present(self.path)
        lock = None if private else JournalLock(self.path)
        if lock is not None:
            lock.acquire()
        created = not private and not _has_content(self.path)
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            if not private and not created:
                verdict = [row[0] for row in conn.execute("PRAGMA quick_check(5)")]
                if verdict != ["ok"]:
                    why = "; ".join(str(v) for v in verdict)
                    raise JournalError(
                        self.path, "damaged", why, f"the journal {self.path} is damaged: {why}"
                    )
            if not private:
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            if self.resume and read_job(conn) is None:
                raise JournalError(
                    self.path,
                    "empty",
                    "no job recorded",
                    f"the journal {self.path} records no job: there is nothing to resume",
                )
            bind_job(conn, self.path, identity, settings or {})
            if run is not None:
                _check_run(conn, self.path, dict(run), resume=bool(self.resume), record=record_run)
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn is not None:
                rollback(conn)
                conn.close()
            if lock is not None:
                lock.release()
            if created:
                discard(self.path)
            if isinstance(exc, sqlite3.Error):
                raise failure(self.path, exc) from None
            raise
        self._conn, self._lock = conn, lock

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def job(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The recorded job's identity and settings."""
        return read_job(self._connection())

    # -- running SQL off the event loop ------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self.broken is not None:
            raise self.broken
        if self._conn is None:
            raise RuntimeError("the sync journal is not open")
        return self._conn

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self._mutex:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
                result = fn(conn)
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                rollback(conn)
                self.broken = failure(self.path, exc)
                raise self.broken from None
            return result

    def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self._mutex:
            try:
                return fn(self._connection())
            except sqlite3.Error as exc:
                self.broken = failure(self.path, exc)
                raise self.broken from None

    async def _in_thread(self, call: Callable[[], T]) -> T:
        # A write already handed to the thread completes even if the caller is cancelled,
        # so the caller knows what the journal holds.
        with anyio.CancelScope(shield=True):
            result = await anyio.to_thread.run_sync(call)
        return result  # noqa: RET504 (a return inside the shield reads as "may fall through")

    # -- pictures ----------------------------------------------------------------------------

    def pictures_of(self, keys: Iterable[str]) -> dict[str, PictureRecord]:
        """The picture records of ``keys`` (blocking: call it in a worker thread)."""
        keys = list(keys)

        def read(conn: sqlite3.Connection) -> dict[str, PictureRecord]:
            query = (
                "SELECT face_id, group_id, sha256, path, size, mtime_ns FROM pictures WHERE key = ?"
            )
            found: dict[str, PictureRecord] = {}
            for key in keys:  # a primary-key lookup each: microseconds
                row = conn.execute(query, (key,)).fetchone()
                if row is not None:
                    found[key] = PictureRecord(*row)
            return found

        return self._read(read)

    def in_flight(self) -> list[InFlight]:
        """The actions earlier runs left in flight (blocking)."""

        def read(conn: sqlite3.Connection) -> list[InFlight]:
            query = "SELECT key, action, face_id, group_id, sha256, updated_at FROM actions"
            return [InFlight(*row) for row in conn.execute(query + " WHERE status = 'in_flight'")]

        return self._read(read)

    async def adopt(self, key: str, record: PictureRecord, *, replaced: bool = False) -> None:
        """An add an earlier run left in flight landed (found by key): record its picture.
        For a ``replaced`` face the action stays in flight as ``delete_old`` until the old
        face is deleted (a run killed before that still knows it must go)."""

        def write(conn: sqlite3.Connection) -> None:
            _put_picture(conn, key, record)
            if replaced:
                conn.execute(
                    "UPDATE actions SET action = 'delete_old', updated_at = ? WHERE key = ?",
                    (time.time(), key),
                )
            else:
                conn.execute("DELETE FROM actions WHERE key = ?", (key,))

        await self._in_thread(lambda: self._write(write))

    # -- the write-ahead life of one action ----------------------------------------------------

    async def begin(
        self,
        key: str,
        action: str,
        face_id: str | None,
        group_id: str | None,
        sha: str | None,
        prefix: str = "",
    ) -> None:
        """Record ``action`` on ``key`` in flight (``prefix``: its store's, ``S2/``)."""
        run, now = self.run_id, time.time()

        def write(conn: sqlite3.Connection) -> None:
            # An old face a replace must delete keeps its row (by face id, in its store).
            conn.execute(
                "UPDATE OR REPLACE actions SET key = ? || 'delete:' || face_id"
                " WHERE key = ? AND action = 'delete_old' AND face_id IS NOT NULL",
                (prefix, key),
            )
            conn.execute(
                "INSERT OR REPLACE INTO actions (key, action, status, face_id, group_id, sha256,"
                " error, run_id, updated_at) VALUES (?, ?, 'in_flight', ?, ?, ?, NULL, ?, ?)",
                (key, action, face_id, group_id, sha, run, now),
            )

        await self._in_thread(lambda: self._write(write))

    async def uploaded(self, key: str, record: PictureRecord, *, finished: bool) -> None:
        """The add of ``key`` landed as ``record``; ``finished`` ends the action (a replace
        still has its old face to delete, and stays in flight for that)."""

        def write(conn: sqlite3.Connection) -> None:
            _put_picture(conn, key, record)
            if finished:
                conn.execute("DELETE FROM actions WHERE key = ?", (key,))
            else:
                conn.execute(
                    "UPDATE actions SET action = 'delete_old', updated_at = ? WHERE key = ?",
                    (time.time(), key),
                )

        await self._in_thread(lambda: self._write(write))

    async def done(self, key: str, *, forget_face: str | None = None) -> None:
        """The action on ``key`` is done; ``forget_face`` (deleted) loses its picture record."""

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM actions WHERE key = ?", (key,))
            if forget_face is not None:
                conn.execute(
                    "DELETE FROM pictures WHERE key = ? AND face_id = ?", (key, forget_face)
                )

        await self._in_thread(lambda: self._write(write))

    async def old_deleted(self, face_id: str) -> None:
        """The old face ``face_id`` of a replace is gone: no run needs to delete it."""

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "DELETE FROM actions WHERE action = 'delete_old' AND face_id = ?", (face_id,)
            )

        await self._in_thread(lambda: self._write(write))

    async def ended(self, key: str, status: str, error: str) -> None:
        """The action on ``key`` failed (surely not applied) or its outcome is unknown."""

        kept = status if status == "failed" else "in_flight"

        def write(conn: sqlite3.Connection) -> None:
            # An old face still to delete stays in flight even when one try failed.
            conn.execute(
                "UPDATE actions SET status = CASE action WHEN 'delete_old' THEN 'in_flight'"
                " ELSE ? END, error = ?, updated_at = ? WHERE key = ?",
                (kept, error, time.time(), key),
            )

        await self._in_thread(lambda: self._write(write))


def _check_run(
    conn: sqlite3.Connection, path: str, run: dict[str, Any], *, resume: bool, record: bool
) -> None:
    """Refuse a resume whose ``run`` flags differ from the last run's; record them."""
    found = read_job(conn)
    recorded = found[1] if found is not None else {}
    last = recorded.get("last_run")
    if resume and isinstance(last, dict):
        # Only what the last run recorded (a run of another caller may record less).
        shared = [k for k in run if k in last]
        differences = job_differences({k: last[k] for k in shared}, {k: run[k] for k in shared})
        if differences:
            raise JournalMismatchError(path, differences)
    if record:
        conn.execute(
            "UPDATE job SET settings = ? WHERE id = 1",
            (json.dumps({**recorded, "last_run": run}, sort_keys=True, default=str),),
        )


def _put_picture(conn: sqlite3.Connection, key: str, record: PictureRecord) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO pictures (key, face_id, group_id, sha256, path, size, mtime_ns,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (key, *attrs.astuple(record), time.time()),
    )


def _has_content(path: str) -> bool:
    try:
        return os.path.getsize(path) > 0
    except OSError:
        return False
