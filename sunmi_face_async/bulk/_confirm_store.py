"""Confirmations in the journal: what the platform said of each accepted face.

A push receiver runs beside the job (often in another process), so it never opens the
journal as a ``Journal`` (that takes the job's lock). It calls :func:`record_confirmation`,
which writes one row of the ``confirmations`` table in one short transaction through its own
SQLite connection: WAL mode lets it commit while the job reads and writes, and SQLite's busy
timeout orders the two writers. The job reads the table; it never needs the receiver's rows
to arrive after its own (a push may come before the job recorded the upload's answer).
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeGuard

import anyio.to_thread

from ._journal_file import JournalError, failure

__all__ = [
    "ConfirmRow",
    "confirmation_handler",
    "read_push_payload",
    "record_confirmation",
]

_UPSERT = (
    "INSERT INTO confirmations (face_id, code, reason, source, received_at, group_id)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (face_id) DO UPDATE SET code = excluded.code,"
    " reason = excluded.reason, source = excluded.source, received_at = excluded.received_at,"
    " group_id = excluded.group_id"
)
_TABLE = (
    "CREATE TABLE IF NOT EXISTS confirmations (face_id TEXT PRIMARY KEY, code INTEGER NOT NULL,"
    " reason TEXT NOT NULL, source TEXT NOT NULL, received_at REAL NOT NULL, group_id TEXT)"
)
_MAX_REASON = 500
_MAX_FACE_ID = 64
#: A code is stored as a SQLite integer: 64 bits, signed.
_MIN_CODE, _MAX_CODE = -(2**63), 2**63 - 1
#: A code sent as text: an optional minus and ASCII digits (``str.isdigit`` takes "²").
_DECIMAL = re.compile(r"-?[0-9]{1,19}")
#: The journal schema that introduced the ``rejected`` item status.
_REJECTED_SCHEMA = 3


def _is_face_id(face_id: object) -> TypeGuard[str]:
    return isinstance(face_id, str) and 0 < len(face_id) <= _MAX_FACE_ID


def _is_code(code: object) -> TypeGuard[int]:
    return type(code) is int and _MIN_CODE <= code <= _MAX_CODE


def _check(face_id: object, code: object, reason: object) -> tuple[str, int, str]:
    if not _is_face_id(face_id):
        raise ValueError(
            f"face_id must be a non-empty string of at most {_MAX_FACE_ID} chars: {face_id!r}"
        )
    if not _is_code(code):
        raise ValueError(
            f"code must be an integer of 64 bits (0 = the face is made): {str(code)[:40]!r}"
        )
    if not isinstance(reason, str):
        raise ValueError(f"reason must be a string: {reason!r}")
    return face_id, code, reason[:_MAX_REASON]


def record_confirmation(
    journal_path: str | os.PathLike[str],
    face_id: str,
    code: int,
    reason: str = "",
    *,
    group_id: str | None = None,
    timeout: float = 10.0,
) -> None:
    """Record the platform's word on ``face_id`` in the journal of a job (blocking).

    ``code`` 0 means the face is made; any other code means the platform refused the picture,
    for ``reason``. ``group_id``, when the push names one, must be the item's group for the
    word to count (a face of another group or store may carry the same id). Safe beside the
    running job and from another process: it writes only the confirmations table, in one
    transaction, waiting up to ``timeout`` seconds for the job's writes. The latest word on
    a face wins. Raises ``ValueError`` for a bad argument and ``JournalError`` when the file
    is not a journal or cannot be written; a receiver should then answer the push with an
    error so it is delivered again.
    """
    face_id, code, reason = _check(face_id, code, reason)
    if group_id is not None and not _is_face_id(group_id):
        raise ValueError(f"group_id must be a non-empty string of at most 64 chars: {group_id!r}")
    path = os.fspath(journal_path)
    if not os.path.isfile(path):
        raise JournalError(path, "missing", "no such file", f"there is no journal at {path}")
    try:
        conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    except sqlite3.Error as exc:
        raise failure(path, exc) from None
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if "items" not in tables:
            raise JournalError(
                path, "damaged", "no items table", f"{path} is not a journal of a job"
            )
        if "confirmations" not in tables:
            conn.execute(_TABLE)  # a journal written before confirmations existed
        elif "group_id" not in {r[1] for r in conn.execute("PRAGMA table_info(confirmations)")}:
            conn.execute("ALTER TABLE confirmations ADD COLUMN group_id TEXT")
        conn.execute(_UPSERT, (face_id, code, reason, "push", time.time(), group_id))
    except sqlite3.Error as exc:
        raise failure(path, exc) from None
    finally:
        with contextlib.suppress(sqlite3.Error):
            conn.close()


def read_push_payload(payload: Mapping[str, Any]) -> tuple[str, int, str] | None:
    """``(face_id, code, reason)`` from a face-added push payload, or None if it has none.

    The vendor does not publish this payload; this reads the shape the fake cloud sends
    (``face_id``, ``code``, ``msg``). Pass your own reader to ``confirmation_handler`` for
    another shape. A payload it cannot turn into what ``record_confirmation`` takes (no
    face_id, a code that is not a 64-bit integer or its decimal text) is not understood:
    the receiver acknowledges it rather than failing each of the platform's retries.
    """
    face_id, code = payload.get("face_id"), payload.get("code")
    if not _is_face_id(face_id):
        return None
    if isinstance(code, str) and _DECIMAL.fullmatch(code):
        code = int(code)
    if not _is_code(code):
        return None
    msg = payload.get("msg")
    return face_id, code, msg if isinstance(msg, str) else ""


def confirmation_handler(
    journal_path: str | os.PathLike[str],
    *,
    events: Iterable[int] | None = None,
    read: Callable[[Mapping[str, Any]], tuple[str, int, str] | None] = read_push_payload,
) -> Callable[[Any], Awaitable[None]]:
    """A handler for ``webhook.callback_app`` that records each face outcome it receives.

    ``events``: the event codes that carry a face outcome (None: every event whose payload
    ``read`` understands). A payload's ``group_id`` (a string) is recorded with the outcome,
    so a word on a face of another group never confirms an item. A push it cannot record
    raises, so the receiver answers 500 and the push is delivered again.
    """
    wanted = None if events is None else frozenset(events)
    path = os.fspath(journal_path)

    async def handle(event: Any) -> None:
        if wanted is not None and event.event not in wanted:
            return
        found = read(event.payload)
        if found is not None:
            group = event.payload.get("group_id")
            group = group if _is_face_id(group) else None
            await anyio.to_thread.run_sync(
                lambda: record_confirmation(path, *found, group_id=group)
            )

    return handle


# -- what the job reads and writes (through its own journal connection) ------------------------

#: One accepted item to confirm: rowid, key, group_id, face_id, line, picture, name,
#: external_key, updated_at, and the recorded (code, reason) if any.
ConfirmRow = tuple[
    int, str, str, str, int | None, str | None, str | None, str | None, float, int | None, str
]


def newest_acceptance(conn: sqlite3.Connection, run_id: str) -> float | None:
    """When the latest item of this run still to confirm was accepted (unix seconds)."""
    row = conn.execute(
        "SELECT MAX(updated_at) FROM items WHERE run_id = ? AND status = 'done'", (run_id,)
    ).fetchone()
    return None if row is None or row[0] is None else float(row[0])


def target_groups(conn: sqlite3.Connection, run_id: str) -> list[str]:
    """The groups holding items of this run to confirm."""
    rows = conn.execute(
        "SELECT DISTINCT group_id FROM items WHERE run_id = ? AND status = 'done'"
        " AND face_id IS NOT NULL ORDER BY group_id",
        (run_id,),
    )
    return [row[0] for row in rows]


def waiting(conn: sqlite3.Connection, run_id: str) -> int:
    """Items of this run to confirm that have no recorded word yet."""
    row = conn.execute(
        # A recorded word counts for an item only when it names no group or the item's own.
        "SELECT COUNT(*) FROM items i LEFT JOIN confirmations c ON c.face_id = i.face_id"
        " AND (c.group_id IS NULL OR c.group_id = i.group_id)"
        " WHERE i.run_id = ? AND i.status = 'done' AND i.face_id IS NOT NULL"
        " AND c.face_id IS NULL",
        (run_id,),
    ).fetchone()
    return int(row[0])


def chunk(conn: sqlite3.Connection, run_id: str, after: int, size: int) -> list[ConfirmRow]:
    """The next ``size`` items of this run to confirm after rowid ``after``, in order."""
    rows = conn.execute(
        "SELECT i.rowid, i.key, i.group_id, i.face_id, i.line, i.picture, i.name,"
        " i.external_key, i.updated_at, c.code, COALESCE(c.reason, '') FROM items i"
        " LEFT JOIN confirmations c ON c.face_id = i.face_id"
        " AND (c.group_id IS NULL OR c.group_id = i.group_id) WHERE i.run_id = ?"
        " AND i.status = 'done' AND i.face_id IS NOT NULL AND i.rowid > ?"
        " ORDER BY i.rowid LIMIT ?",
        (run_id, after, size),
    )
    return [tuple(row) for row in rows]


def settle_rows(
    conn: sqlite3.Connection,
    rejected: list[tuple[str, str]],
    listed: list[tuple[str, int, str]],
) -> None:
    """Mark ``rejected`` (key, reason) items and record ``listed`` (face_id, code, reason)."""
    now = time.time()
    conn.executemany(
        "UPDATE items SET status = 'rejected', error = ?, updated_at = ? WHERE key = ?"
        " AND status = 'done'",
        [(reason, now, key) for key, reason in rejected],
    )
    if rejected:
        # A release before schema 3 knows no 'rejected' status (it would crash reading the
        # row, or send the item again): a journal that holds one says schema 3, which such
        # a release refuses as "written by a newer version".
        conn.execute(
            "UPDATE job SET schema = ? WHERE id = 1 AND schema < ?",
            (_REJECTED_SCHEMA, _REJECTED_SCHEMA),
        )
    conn.executemany(_UPSERT, [(f, code, why, "listing", now, None) for f, code, why in listed])
