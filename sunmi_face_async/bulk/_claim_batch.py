"""Claims of many workers committed together: one hop to the journal per batch, not per item.

A worker that has read, checked and keyed its upload queues its claim and waits. The queue
is committed (one ``Journal.claim_many`` transaction, with whatever outcomes wait beside it)
when it is full, or as soon as the uploads already claimed and waiting for a slot run low,
so requests never wait for a claim while a batch fills. Every upload claimed for sending is
committed in flight before its request is written.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import anyio
import attrs

from .journal import Claim, Journal

if TYPE_CHECKING:
    from ._job import EnrollJob

__all__ = ["ClaimBatcher", "batcher_for"]

ClaimArgs = tuple[str, str, str, int | None, Mapping[str, Any] | None]


@attrs.define
class _Request:
    args: ClaimArgs
    in_batch: bool = False  # part of a batch on its way to the journal
    done: bool = False
    result: tuple[Claim, str | None] | None = None
    error: BaseException | None = None
    #: Set when the request is done, or when a batch is due and it is first in the queue.
    wake: anyio.Event = attrs.field(factory=anyio.Event)

    def signal(self) -> None:
        self.wake.set()


class ClaimBatcher:
    """Batch the claims of one job's workers (``size`` at most per batch).

    ``ready`` counts uploads claimed for sending that do not hold a slot yet; a batch is
    committed at once when it falls to ``low_water``.
    """

    def __init__(self, journal: Journal, size: int, low_water: int) -> None:
        self.journal = journal
        self.size = max(1, size)
        self.low_water = max(0, low_water)
        self.ready = 0
        self.batches = 0
        self._queue: list[_Request] = []
        self._flushing = False

    def _kick(self) -> None:
        """Wake one waiting claim (the first) to commit the queue, if a batch is due: one
        wake-up per batch, not one per waiting worker."""
        if not self._flushing and self._due():
            self._queue[0].signal()

    def _due(self) -> bool:
        return bool(self._queue) and (len(self._queue) >= self.size or self.ready <= self.low_water)

    def taken(self) -> None:
        """An upload claimed for sending got its slot, or will never take one (a dry run,
        an error, a cancel): every SEND decision must be followed by one call."""
        self.ready -= 1
        self._kick()

    async def claim(
        self,
        key: str,
        group_id: str,
        content_hash: str,
        line: int | None,
        about: Mapping[str, Any] | None,
    ) -> tuple[Claim, str | None]:
        """``Journal.claim``, committed with the other claims waiting now."""
        request = _Request((key, group_id, content_hash, line, about))
        self._queue.append(request)
        try:
            while not request.done:
                if not self._flushing and self._due():
                    await self._flush()
                else:
                    await request.wake.wait()
                    if not request.done:
                        request.wake = anyio.Event()
        except anyio.get_cancelled_exc_class():
            if not request.in_batch:
                self._queue.remove(request)  # never written: nothing to undo
                self._kick()
                raise
            with anyio.CancelScope(shield=True):
                while not request.done:
                    await request.wake.wait()
                if request.result is not None and request.result[0] is Claim.SEND:
                    self.ready -= 1
                    await self.journal.mark_failed(key, "cancelled before it was sent")
            raise
        if request.error is not None:
            raise request.error
        assert request.result is not None
        return request.result

    async def _flush(self) -> None:
        self._flushing = True
        batch, self._queue = self._queue, []
        for request in batch:
            request.in_batch = True
        try:
            # Shielded: the batch is written whatever happens, so each worker knows its state.
            with anyio.CancelScope(shield=True):
                decisions = await self.journal.claim_many([r.args for r in batch])
        except Exception as exc:
            for request in batch:
                request.error = exc
        else:
            for request, decision in zip(batch, decisions, strict=True):
                request.result = decision
                if decision[0] is Claim.SEND:
                    self.ready += 1
        finally:
            self.batches += 1
            for request in batch:
                request.done = True
                request.signal()
            self._flushing = False
            self._kick()


_BATCHERS: weakref.WeakKeyDictionary[EnrollJob, ClaimBatcher] = weakref.WeakKeyDictionary()


def batcher_for(job: EnrollJob) -> ClaimBatcher:
    """The job's batcher (one per job and journal), made on first use."""
    batcher = _BATCHERS.get(job)
    if batcher is None or batcher.journal is not job.journal:
        concurrency = job.options.concurrency
        batcher = ClaimBatcher(job.journal, max(16, concurrency // 2), max(1, concurrency // 4))
        _BATCHERS[job] = batcher
    return batcher
