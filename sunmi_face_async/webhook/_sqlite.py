"""A replay cache in an SQLite file: it survives restarts and is shared by worker processes.

Each call runs in one ``BEGIN IMMEDIATE`` transaction, so the check and the insert of a key
are one step for every process using the file. A cache keeps one connection per process
(opened again in a forked child, never shared with it), used by one thread at a time: a
connection per call would pay for a WAL checkpoint on every close, several times the cost
of the transaction itself. Waits, for another thread or another process's lock, are bounded by
``timeout``; every SQLite failure becomes a :class:`ReplayCacheError` naming the file.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import ClassVar, TypeVar

from ._cache import Claim, ReplayCacheError, full_error

__all__ = ["SqliteReplayCache"]

T = TypeVar("T")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS sunmi_replay_cache ("
    " key TEXT PRIMARY KEY, expires_at REAL NOT NULL, pending INTEGER NOT NULL"
    ") WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS sunmi_replay_cache_expiry ON sunmi_replay_cache (expires_at)",
)
#: How long to suggest waiting when the file cannot be used (locked, full disk, I/O error).
_UNAVAILABLE_RETRY_AFTER = 30.0
#: Connections a forked child inherited: never used or closed there (SQLite forbids carrying
#: a connection across fork), and kept referenced so that garbage collection does not either.
_INHERITED: list[sqlite3.Connection] = []


def _encode(key: Hashable) -> str:
    """A stable text form of a key made of str, int and tuples of them."""

    def check(part: object) -> None:
        if isinstance(part, tuple):
            for item in part:
                check(item)
        elif not isinstance(part, (str, int)) or isinstance(part, bool):
            raise TypeError(
                f"SqliteReplayCache keys are str, int or tuples of them, not {type(part).__name__}"
            )

    check(key)
    return json.dumps(key, separators=(",", ":"), ensure_ascii=False)


class SqliteReplayCache:
    """A :class:`ReplayCache` kept in the SQLite file ``path`` (created when missing).

    Same promise as the in-memory cache: an unexpired entry is never forgotten, and a new key
    is refused with :class:`ReplayCacheFullError` while ``max_entries`` unexpired entries are
    held. Several processes (uvicorn or gunicorn workers) and restarts may share one file on
    a local disk (not a network share, where SQLite's locks are unreliable). Calls block:
    ``callback_app`` runs them in a worker thread. Keys are str, int or tuples of them.
    """

    blocking: ClassVar[bool] = True

    def __init__(
        self, path: str | os.PathLike[str], *, max_entries: int = 100_000, timeout: float = 5.0
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        if not timeout > 0:
            raise ValueError("timeout must be positive")
        self.path = os.fspath(path)
        self.max_entries = max_entries
        self.timeout = timeout
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._pid = os.getpid()
        with self._transaction() as db:
            for statement in _SCHEMA:
                db.execute(statement)
        self._run(lambda db: db.execute("PRAGMA journal_mode=WAL").fetchone(), begin=False)

    def __repr__(self) -> str:
        return f"SqliteReplayCache(path={self.path!r}, max_entries={self.max_entries})"

    def __enter__(self) -> SqliteReplayCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        self._drop()

    def close(self) -> None:
        """Close this process's connection; the next call opens a new one."""
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        db, self._db = getattr(self, "_db", None), None
        if db is not None and self._pid == os.getpid():
            db.close()

    def __len__(self) -> int:
        now = time.time()
        return int(
            self._run(
                lambda db: db.execute(
                    "SELECT count(*) FROM sunmi_replay_cache WHERE expires_at >= ?", (now,)
                ).fetchone()[0],
                begin=False,
            )
        )

    def contains(self, key: Hashable, *, now: float | None = None) -> bool:
        """Whether ``key`` was added and has not expired at ``now`` (unix seconds)."""
        text, current = _encode(key), time.time() if now is None else now
        row = self._run(
            lambda db: db.execute(
                "SELECT 1 FROM sunmi_replay_cache WHERE key = ? AND expires_at >= ?",
                (text, current),
            ).fetchone(),
            begin=False,
        )
        return row is not None

    def add(self, key: Hashable, *, expires_at: float, now: float | None = None) -> bool:
        """Remember ``key`` until ``expires_at``; False if it was already remembered."""
        text, current = _encode(key), time.time() if now is None else now

        def step(db: sqlite3.Connection) -> bool:
            if self._known(db, text, current) is not None:
                db.execute(
                    "UPDATE sunmi_replay_cache SET expires_at = max(expires_at, ?) WHERE key = ?",
                    (expires_at, text),
                )
                return False
            self._insert(db, text, expires_at, current, pending=False)
            return True

        return self._run(step)

    def claim(self, key: Hashable, *, lease_until: float, now: float | None = None) -> Claim:
        """Claim ``key`` until ``lease_until`` unless known: "new", "pending" or "done"."""
        text, current = _encode(key), time.time() if now is None else now

        def step(db: sqlite3.Connection) -> Claim:
            pending = self._known(db, text, current)
            if pending is not None:
                return "pending" if pending else "done"
            self._insert(db, text, lease_until, current, pending=True)
            return "new"

        return self._run(step)

    def confirm(self, key: Hashable, *, expires_at: float, now: float | None = None) -> None:
        """Mark a claimed ``key`` as done, remembered until ``expires_at``."""
        text = _encode(key)
        self._run(
            lambda db: db.execute(
                "INSERT INTO sunmi_replay_cache VALUES (?, ?, 0) ON CONFLICT (key) DO UPDATE"
                " SET pending = 0, expires_at = max(expires_at, excluded.expires_at)",
                (text, expires_at),
            )
        )

    def discard(self, key: Hashable) -> None:
        """Forget ``key``."""
        text = _encode(key)
        self._run(lambda db: db.execute("DELETE FROM sunmi_replay_cache WHERE key = ?", (text,)))

    @staticmethod
    def _known(db: sqlite3.Connection, text: str, now: float) -> bool | None:
        """Purge what expired before ``now``; None when ``text`` is unknown, else pending."""
        db.execute("DELETE FROM sunmi_replay_cache WHERE expires_at < ?", (now,))
        row = db.execute("SELECT pending FROM sunmi_replay_cache WHERE key = ?", (text,)).fetchone()
        return None if row is None else bool(row[0])

    def _insert(
        self, db: sqlite3.Connection, text: str, expires_at: float, now: float, *, pending: bool
    ) -> None:
        count, soonest = db.execute(
            "SELECT count(*), min(expires_at) FROM sunmi_replay_cache"
        ).fetchone()
        if count >= self.max_entries:
            raise full_error(self.max_entries, soonest, now)
        db.execute(
            "INSERT INTO sunmi_replay_cache VALUES (?, ?, ?)", (text, expires_at, int(pending))
        )

    def _run(self, step: Callable[[sqlite3.Connection], T], *, begin: bool = True) -> T:
        with self._transaction(begin=begin) as db:
            return step(db)

    @contextmanager
    def _transaction(self, *, begin: bool = True) -> Iterator[sqlite3.Connection]:
        if not self._lock.acquire(timeout=self.timeout):
            raise ReplayCacheError(
                f"replay cache {self.path}: busy for over {self.timeout:g} s in this process",
                retry_after=_UNAVAILABLE_RETRY_AFTER,
            )
        try:
            db = self._connection()
            try:
                if begin:
                    db.execute("BEGIN IMMEDIATE")
                yield db
                if begin:
                    db.execute("COMMIT")
            finally:
                if db.in_transaction:
                    db.rollback()
        except sqlite3.Error as exc:
            self._drop()  # the next call starts from a fresh connection
            raise self._unavailable(exc) from exc
        finally:
            self._lock.release()

    def _connection(self) -> sqlite3.Connection:
        if self._db is not None and self._pid != os.getpid():
            _INHERITED.append(self._db)
            self._db = None
        if self._db is None:
            self._db = sqlite3.connect(
                self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
            self._pid = os.getpid()
        return self._db

    def _unavailable(self, exc: sqlite3.Error) -> ReplayCacheError:
        return ReplayCacheError(
            f"replay cache {self.path}: {exc}",
            retry_after=_UNAVAILABLE_RETRY_AFTER,
        )
