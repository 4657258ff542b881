"""The job journal: one SQLite row per item, so a killed job resumes without duplicates.

An item is marked in flight before it is sent and done or failed after; whatever is still in
flight when a job dies has an unknown outcome. The journal keeps the item's key, group,
picture hash, status, face_id, error, attempts and timestamps: never the app_key and never
the picture. Writes are queued from the event loop and committed in small batched
transactions in a worker thread (group commit), so the journal keeps up with thousands of
items per second.
"""

from __future__ import annotations

import enum
import json
import os
import sqlite3
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from ._journal_file import (
    JournalError,
    JournalMismatchError,
    bind_job,
    failure,
    read_job,
)
from ._journal_lock import JournalLock, discard, open_locked
from ._journal_queue import OpQueue

__all__ = ["Claim", "Journal", "JournalError", "JournalMismatchError", "JournalRow", "Status"]


class Status(str, enum.Enum):
    IN_FLIGHT = "in_flight"
    DONE = "done"
    FAILED = "failed"
    UNKNOWN = "unknown"
    DUPLICATE = "duplicate"
    #: Accepted (a face_id came back), then refused by the platform (confirmation).
    REJECTED = "rejected"


class Claim(enum.Enum):
    """What the journal says to do with an item."""

    SEND = "send"
    SKIP = "skip"  # done by an earlier run
    DUPLICATE = "duplicate"  # same key in this run, or same picture in the same group
    UNKNOWN = "unknown"  # an earlier run left it in flight: the outcome is unknown
    REJECTED = "rejected"  # refused after an earlier run sent it (and not to be resent)


@attrs.frozen
class JournalRow:
    key: str
    group_id: str
    content_hash: str
    status: Status
    face_id: str | None
    error: str | None
    attempts: int
    line: int | None
    created_at: float
    updated_at: float
    picture: str | None = None
    name: str | None = None
    external_key: str | None = None
    #: gender, age_range and customer_values as sent (JSON-able), if recorded.
    attributes: Mapping[str, Any] | None = None


_ROW_FIELDS = [field.name for field in attrs.fields(JournalRow)]


class Journal(OpQueue):
    """A SQLite journal in WAL mode at ``path`` (``":memory:"``-like private use: ``""``).

    Open the same path again to resume a job. Use it from one event loop at a time.
    ``resume=True`` insists that the file exists and holds a job (a missing, empty or
    damaged file raises ``JournalError`` instead of starting afresh). Every existing file is
    checked when opened. Once a write fails (full disk, read-only folder), the journal is
    broken: every later call raises the same ``JournalError``, naming the file and the cause.
    """

    def __init__(self, path: str | os.PathLike[str], *, resume: bool | None = None) -> None:
        self.path = os.fspath(path)
        self.resume = resume
        self.run_id = uuid.uuid4().hex
        self._conn: sqlite3.Connection | None = None
        self._lock: JournalLock | None = None
        self._created = False  # by this object, and no job recorded in it yet
        self._init_queue()
        #: The error that broke the journal, if one did.
        self.broken: JournalError | None = None
        #: Whether an item the platform rejected is claimed for sending again.
        self.resend_rejected = False

    def open(self) -> None:
        """Open and check the file now (else the first use does): raises ``JournalError``."""
        self._connect()

    def _connect(self) -> sqlite3.Connection:
        if self.broken is not None:
            raise self.broken
        if self._conn is None:
            self._conn, self._lock, self._created = open_locked(self.path, self.resume)
        return self._conn

    # -- the job it belongs to --------------------------------------------------------------

    def job(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The job's identity and settings as recorded, or None (a new or version 1 journal)."""
        return read_job(self._connect())

    def bind(self, identity: Mapping[str, Any], settings: Mapping[str, Any] | None = None) -> None:
        """Record the job this journal belongs to, or check that it is that job.

        A journal that records another job raises ``JournalMismatchError`` naming what
        differs. The settings are recorded with the first run and kept.
        """
        try:
            bind_job(self._connect(), self.path, identity, settings or {})
        except sqlite3.Error as exc:
            self.broken = failure(self.path, exc)
            if self._created:
                # No job was recorded: remove the file, so the same command runs afresh.
                self.close()
                discard(self.path)
            raise self.broken from None
        self._created = False

    # -- the item life cycle ----------------------------------------------------------------

    async def claim(
        self,
        key: str,
        group_id: str,
        content_hash: str,
        *,
        line: int | None = None,
        about: Mapping[str, Any] | None = None,
    ) -> tuple[Claim, str | None]:
        """Decide an item's fate and, for SEND, mark it in flight in the same transaction.

        ``about`` names the item for people: ``picture`` (path), ``name``, ``external_key``
        and ``attributes`` (a JSON-able mapping). Returns the decision and a detail: the
        face_id for SKIP, the key of the first copy for DUPLICATE.
        """
        decision: tuple[Claim, str | None] = await self._submit(
            lambda conn: self._claim(conn, key, group_id, content_hash, line, about or {})
        )
        return decision

    async def claim_many(
        self, items: Sequence[tuple[str, str, str, int | None, Mapping[str, Any] | None]]
    ) -> list[tuple[Claim, str | None]]:
        """``claim`` for several items (key, group, hash, line, about) in one transaction:
        every SEND among them is committed in flight when this returns."""

        def claim_all(conn: sqlite3.Connection) -> list[tuple[Claim, str | None]]:
            return [self._claim(conn, k, g, h, line, about or {}) for k, g, h, line, about in items]

        decisions: list[tuple[Claim, str | None]] = await self._submit(claim_all)
        return decisions

    def _claim(
        self,
        conn: sqlite3.Connection,
        key: str,
        group: str,
        digest: str,
        line: int | None,
        about: Mapping[str, Any],
    ) -> tuple[Claim, str | None]:
        row = conn.execute(
            "SELECT status, face_id, run_id FROM items WHERE key = ?", (key,)
        ).fetchone()
        now = time.time()
        if row is not None:
            status, face_id, run_id = row
            if run_id == self.run_id:
                return Claim.DUPLICATE, key
            if status in (Status.DONE, Status.IN_FLIGHT, Status.UNKNOWN):
                # Seen in this run now: another copy of it later in this run is a duplicate.
                conn.execute("UPDATE items SET run_id = ? WHERE key = ?", (self.run_id, key))
                if status == Status.DONE:
                    return Claim.SKIP, face_id
                return Claim.UNKNOWN, None
            if status == Status.REJECTED and not self.resend_rejected:
                conn.execute("UPDATE items SET run_id = ? WHERE key = ?", (self.run_id, key))
                return Claim.REJECTED, face_id
        first = conn.execute(
            "SELECT key FROM items WHERE group_id = ? AND content_hash = ? AND key != ?"
            " AND status IN ('in_flight', 'done', 'unknown') LIMIT 1",
            (group, digest, key),
        ).fetchone()
        status = Status.DUPLICATE if first is not None else Status.IN_FLIGHT
        attributes = about.get("attributes")
        conn.execute(
            "INSERT INTO items (key, group_id, content_hash, status, attempts, run_id, line,"
            " created_at, updated_at, picture, name, external_key, attrs)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET group_id = excluded.group_id,"
            " content_hash = excluded.content_hash, status = excluded.status,"
            " attempts = items.attempts + excluded.attempts, run_id = excluded.run_id,"
            " line = excluded.line, error = NULL, updated_at = excluded.updated_at,"
            " picture = excluded.picture, name = excluded.name,"
            " external_key = excluded.external_key, attrs = excluded.attrs",
            (
                key,
                group,
                digest,
                status.value,
                int(first is None),
                self.run_id,
                line,
                now,
                now,
                about.get("picture"),
                about.get("name"),
                about.get("external_key"),
                None if attributes is None else json.dumps(attributes, default=str),
            ),
        )
        if first is not None:
            return Claim.DUPLICATE, first[0]
        return Claim.SEND, None

    async def state(self, key: str) -> tuple[Status, float] | None:
        """An item's status and when it was last written (unix seconds), if it has a row."""

        def read(conn: sqlite3.Connection) -> tuple[Status, float] | None:
            row = conn.execute("SELECT status, updated_at FROM items WHERE key = ?", (key,))
            found = row.fetchone()
            return None if found is None else (Status(found[0]), float(found[1]))

        state: tuple[Status, float] | None = await self._submit(read)
        return state

    async def resend(self, key: str) -> None:
        """Mark an item in flight again (reconciled as absent: it is sent once more)."""
        await self._update(key, Status.IN_FLIGHT, attempts=1)

    async def mark_done(self, key: str, face_id: str) -> None:
        await self._update(key, Status.DONE, face_id=face_id)

    async def mark_failed(self, key: str, error: str) -> None:
        await self._update(key, Status.FAILED, error=error)

    async def mark_unknown(self, key: str, error: str) -> None:
        await self._update(key, Status.UNKNOWN, error=error)

    def settle(self, key: str, face_id: str | None, note: str) -> None:
        """Deprecated: use ``resolve`` (the same call)."""
        warnings.warn(
            "Journal.settle is deprecated; use Journal.resolve", DeprecationWarning, stacklevel=2
        )
        self.resolve(key, face_id, note)

    def resolve(self, key: str, face_id: str | None, note: str) -> None:
        """Resolve an unknown item after a check (blocking): done as ``face_id``, or failed
        (so that a resumed job sends it) when ``face_id`` is None."""
        status = Status.DONE if face_id else Status.FAILED
        conn = self._connect()
        try:
            conn.execute(
                "UPDATE items SET status = ?, face_id = COALESCE(?, face_id), error = ?,"
                " updated_at = ? WHERE key = ? AND status IN ('unknown', 'in_flight')",
                (status.value, face_id, note, time.time(), key),
            )
        except sqlite3.Error as exc:
            self.broken = failure(self.path, exc)
            raise self.broken from None

    async def row(self, key: str) -> JournalRow | None:
        """The row of ``key``, if any (e.g. to name the first copy of a duplicate)."""

        def read(conn: sqlite3.Connection) -> JournalRow | None:
            return next(self._select(" WHERE key = ?", (key,), conn), None)

        found: JournalRow | None = await self._submit(read)
        return found

    async def _update(
        self,
        key: str,
        status: Status,
        *,
        face_id: str | None = None,
        error: str | None = None,
        attempts: int = 0,
    ) -> None:
        await self._submit(self._status_write(key, status, face_id, error, attempts))

    def _status_write(
        self, key: str, status: Status, face_id: str | None, error: str | None, attempts: int = 0
    ) -> Callable[[sqlite3.Connection], None]:
        now = time.time()

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE items SET status = ?, face_id = COALESCE(?, face_id), error = ?,"
                " attempts = attempts + ?, run_id = ?, updated_at = ? WHERE key = ?",
                (status.value, face_id, error, attempts, self.run_id, now, key),
            )

        return write

    async def record(
        self,
        key: str,
        status: Status,
        *,
        face_id: str | None = None,
        error: str | None = None,
        named: str | None = None,
    ) -> None:
        """Record an outcome (done, failed or unknown) without waiting for its commit: it is
        committed with the next batch (see ``needs_timer``, ``flush``, ``commit_pending``).
        ``named`` (the picture or key) lists the answer in ``JournalError.unrecorded`` if
        that commit fails."""
        answer = None if named is None else (key, (named, face_id))
        await self._defer(self._status_write(key, status, face_id, error), answer)

    # -- reading (blocking: for reports, tests and the CLI) ---------------------------------

    def rows(self, status: Status | None = None) -> Iterator[JournalRow]:
        """Every row, or those with ``status``, in insertion order."""
        if status is None:
            yield from self._select(" ORDER BY rowid", ())
        else:
            yield from self._select(" WHERE status = ? ORDER BY rowid", (status.value,))

    def _select(
        self, where: str, args: tuple[str, ...], conn: sqlite3.Connection | None = None
    ) -> Iterator[JournalRow]:
        conn = conn or self._connect()
        query = (
            "SELECT key, group_id, content_hash, status, face_id, error, attempts, line,"
            " created_at, updated_at, picture, name, external_key, attrs FROM items"
        )
        for row in conn.execute(query + where, args):
            values: dict[str, Any] = dict(zip(_ROW_FIELDS, row, strict=True))
            values["status"] = Status(values["status"])
            if values["attributes"] is not None:
                values["attributes"] = json.loads(values["attributes"])
            yield JournalRow(**values)

    def counts(self) -> dict[Status, int]:
        conn = self._connect()
        found = dict(conn.execute("SELECT status, COUNT(*) FROM items GROUP BY status"))
        return {status: found.get(status.value, 0) for status in Status}

    def close(self) -> None:
        """Commit what is queued, then close (a failed commit raises, after closing)."""
        try:
            if self._conn is not None:
                self.commit_pending()
        finally:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    async def aclose(self) -> None:
        self.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
