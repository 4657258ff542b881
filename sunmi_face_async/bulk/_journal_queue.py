"""The journal's write queue: operations queued from the event loop, committed in batches.

Every write is a function of the connection. Writes that must be committed before their caller
goes on (claims: an item is in flight before its request is written) are awaited; the queue
commits everything pending in one transaction in a worker thread, so concurrent callers share
one hop to the thread (group commit). Outcomes (done, failed, unknown) are queued without
waiting ("deferred"): they are committed with the next batch, at the latest after
``DEFER_SECONDS`` (a timer the caller arms) or once ``DEFER_LIMIT`` of them wait, and before
the job ends. A job killed in between finds those items still in flight, which a resumed job
treats as unknown: never sent twice blindly.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread
import attrs

from ._journal_file import JournalError, failure, rollback

__all__ = ["DEFER_LIMIT", "DEFER_SECONDS", "OpQueue"]

#: At most this many outcomes wait for their commit ...
DEFER_LIMIT = 64
#: ... and none of them longer than this (seconds), once a timer is armed.
DEFER_SECONDS = 0.05


@attrs.define
class _Op:
    fn: Callable[[sqlite3.Connection], Any]
    done: bool = False
    result: Any = None
    error: BaseException | None = None
    #: For an answer being recorded: (key, (the picture or key, the face_id or None)), listed
    #: in ``JournalError.unrecorded`` if its batch fails.
    answer: tuple[str, tuple[str, str | None]] | None = None


def _nothing(conn: sqlite3.Connection) -> None:
    return None


class OpQueue:
    """The batched writer behind ``Journal`` (which provides ``path`` and ``_connect``)."""

    path: str
    #: The error that broke the journal, if one did.
    broken: JournalError | None

    def _init_queue(self) -> None:
        self._pending: list[_Op] = []
        self._flushing: anyio.Event | None = None
        self._deferred = 0
        self._timer = False
        self.transactions = 0

    def _connect(self) -> sqlite3.Connection:  # pragma: no cover - Journal's
        raise NotImplementedError

    def _run_batch(self, batch: list[_Op]) -> None:
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            for op in batch:
                try:
                    op.result = op.fn(conn)
                except sqlite3.Error:
                    raise
                except Exception as exc:
                    op.error = exc
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            # The first error is the cause (a failed COMMIT or ROLLBACK after it would hide
            # it): the batch is undone and the journal is broken for good.
            rollback(conn)
            self.broken = failure(self.path, exc)
            for op in batch:
                if op.answer is not None:
                    self.broken.unrecorded[op.answer[0]] = op.answer[1]
            raise self.broken from None
        except BaseException:
            rollback(conn)
            raise
        finally:
            self.transactions += 1

    async def _submit(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        if self.broken is not None:
            raise self.broken
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
        self._deferred = 0
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

    async def _defer(
        self,
        fn: Callable[[sqlite3.Connection], Any],
        answer: tuple[str, tuple[str, str | None]] | None = None,
    ) -> None:
        """Queue a write without waiting for its commit (unless ``DEFER_LIMIT`` wait)."""
        if self.broken is not None:
            if answer is not None:
                self.broken.unrecorded[answer[0]] = answer[1]
            raise self.broken
        self._pending.append(_Op(fn, answer=answer))
        self._deferred += 1
        if self._deferred >= DEFER_LIMIT:
            await self.flush()

    def needs_timer(self) -> bool:
        """Whether writes wait and no timer will commit them: the caller then arms one
        (``flush_later``); this says yes once until that timer has run."""
        if self._deferred == 0 or self._timer:
            return False
        self._timer = True
        return True

    async def flush_later(self, delay: float = DEFER_SECONDS) -> None:
        """Commit what waits after ``delay`` seconds (a cancelled timer commits nothing:
        the next batch or the job's end does)."""
        try:
            await anyio.sleep(delay)
        finally:
            self._timer = False
        await self.flush()

    async def flush(self) -> None:
        """Commit every queued write now (raises ``JournalError`` if that fails)."""
        if self._pending or self._flushing is not None:
            await self._submit(_nothing)
        if self.broken is not None:
            raise self.broken

    def commit_pending(self) -> None:
        """Commit what is queued, blocking (when no batch is on its way): for the job's end
        and ``close``. Raises ``JournalError`` if the commit fails."""
        if self._flushing is not None or not self._pending or self.broken is not None:
            return
        batch, self._pending = self._pending, []
        self._deferred = 0
        try:
            self._run_batch(batch)
        finally:
            for op in batch:
                op.done = True
