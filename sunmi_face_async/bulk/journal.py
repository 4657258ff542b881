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
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import anyio.to_thread
import attrs

__all__ = ["Claim", "Journal", "JournalRow", "Status"]

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
"""


class Status(str, enum.Enum):
    IN_FLIGHT = "in_flight"
    DONE = "done"
    FAILED = "failed"
    UNKNOWN = "unknown"
    DUPLICATE = "duplicate"


class Claim(enum.Enum):
    """What the journal says to do with an item."""

    SEND = "send"
    SKIP = "skip"  # done by an earlier run
    DUPLICATE = "duplicate"  # same key in this run, or same picture in the same group
    UNKNOWN = "unknown"  # an earlier run left it in flight: the outcome is unknown


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


class _Op:
    __slots__ = ("done", "error", "fn", "result")

    def __init__(self, fn: Callable[[sqlite3.Connection], Any]) -> None:
        self.fn = fn
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None


class Journal:
    """A SQLite journal in WAL mode at ``path`` (``":memory:"``-like private use: ``""``).

    Open the same path again to resume a job. Use it from one event loop at a time.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self.run_id = uuid.uuid4().hex
        self._conn: sqlite3.Connection | None = None
        self._pending: list[_Op] = []
        self._flushing: anyio.Event | None = None
        self.transactions = 0

    # -- plumbing ---------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            if self.path not in ("", ":memory:"):
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            self._conn = conn
        return self._conn

    def _run_batch(self, batch: list[_Op]) -> None:
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            for op in batch:
                try:
                    op.result = op.fn(conn)
                except sqlite3.Error as exc:
                    op.error = exc
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            self.transactions += 1

    async def _submit(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        op = _Op(fn)
        self._pending.append(op)
        # A queued write is applied whatever happens, so its caller waits for it even when
        # cancelled (a batch takes milliseconds): the caller then knows the journal's state.
        with anyio.CancelScope(shield=True):
            while not op.done:
                flushing = self._flushing
                if flushing is None:
                    await self._flush()
                else:
                    await flushing.wait()
        if op.error is not None:
            raise op.error
        return op.result

    async def _flush(self) -> None:
        event = self._flushing = anyio.Event()
        batch, self._pending = self._pending, []
        try:
            await anyio.to_thread.run_sync(self._run_batch, batch)
        except Exception as exc:
            for op in batch:
                op.error = exc
        finally:
            for op in batch:
                op.done = True
            self._flushing = None
            event.set()

    # -- the item life cycle ----------------------------------------------------------------

    async def claim(
        self, key: str, group_id: str, content_hash: str, *, line: int | None = None
    ) -> tuple[Claim, str | None]:
        """Decide an item's fate and, for SEND, mark it in flight in the same transaction.

        Returns the decision and a detail: the face_id for SKIP, the key of the first copy
        for DUPLICATE.
        """
        decision: tuple[Claim, str | None] = await self._submit(
            lambda conn: self._claim(conn, key, group_id, content_hash, line)
        )
        return decision

    def _claim(
        self, conn: sqlite3.Connection, key: str, group: str, digest: str, line: int | None
    ) -> tuple[Claim, str | None]:
        row = conn.execute(
            "SELECT status, face_id, run_id FROM items WHERE key = ?", (key,)
        ).fetchone()
        now = time.time()
        if row is not None:
            status, face_id, run_id = row
            if run_id == self.run_id:
                return Claim.DUPLICATE, key
            if status == Status.DONE:
                return Claim.SKIP, face_id
            if status in (Status.IN_FLIGHT, Status.UNKNOWN):
                return Claim.UNKNOWN, None
        first = conn.execute(
            "SELECT key FROM items WHERE group_id = ? AND content_hash = ? AND key != ?"
            " AND status IN ('in_flight', 'done', 'unknown') LIMIT 1",
            (group, digest, key),
        ).fetchone()
        status = Status.DUPLICATE if first is not None else Status.IN_FLIGHT
        conn.execute(
            "INSERT INTO items (key, group_id, content_hash, status, attempts, run_id, line,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET group_id = excluded.group_id,"
            " content_hash = excluded.content_hash, status = excluded.status,"
            " attempts = items.attempts + excluded.attempts, run_id = excluded.run_id,"
            " line = excluded.line, error = NULL, updated_at = excluded.updated_at",
            (key, group, digest, status.value, int(first is None), self.run_id, line, now, now),
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

    async def _update(
        self,
        key: str,
        status: Status,
        *,
        face_id: str | None = None,
        error: str | None = None,
        attempts: int = 0,
    ) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE items SET status = ?, face_id = COALESCE(?, face_id), error = ?,"
                " attempts = attempts + ?, run_id = ?, updated_at = ? WHERE key = ?",
                (status.value, face_id, error, attempts, self.run_id, time.time(), key),
            )

        await self._submit(write)

    # -- reading (blocking: for reports, tests and the CLI) ---------------------------------

    def rows(self, status: Status | None = None) -> Iterator[JournalRow]:
        """Every row, or those with ``status``, in insertion order."""
        conn = self._connect()
        query = (
            "SELECT key, group_id, content_hash, status, face_id, error, attempts, line,"
            " created_at, updated_at FROM items"
        )
        args: tuple[str, ...] = ()
        if status is not None:
            query += " WHERE status = ?"
            args = (status.value,)
        for row in conn.execute(query + " ORDER BY rowid", args):
            key, group_id, digest, status_text, face_id, error, attempts, line, created, updated = (
                row
            )
            yield JournalRow(
                key,
                group_id,
                digest,
                Status(status_text),
                face_id,
                error,
                attempts,
                line,
                created,
                updated,
            )

    def counts(self) -> dict[Status, int]:
        conn = self._connect()
        found = dict(conn.execute("SELECT status, COUNT(*) FROM items GROUP BY status"))
        return {status: found.get(status.value, 0) for status in Status}

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def aclose(self) -> None:
        self.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
