"""The running enrollment behind ``enroll``: its surface and its passes.

The main pass streams every upload through the engine (``_claim.process``: read, check,
claim, send). Uploads whose outcome is unknown are kept aside (with ``external_key_slot``)
and reconciled after it, in rounds (``_reconcile``). The job keeps its ``EnrollOptions``
as they are and reads them from there.
"""

from __future__ import annotations

import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Awaitable,
    Callable,
    Iterable,
    Sequence,
    Sized,
)
from contextlib import aclosing
from typing import Any

import anyio

from ._books import Books
from ._claim import process
from ._client import BulkClient
from ._confirm import confirm, held
from ._engine import BulkMap
from ._options import EnrollOptions
from ._policy import default_settle, job_identity
from ._ratelimit import RateLimiter
from ._reconcile import give_up, reconcile
from ._results import EnrollReport, ItemResult
from ._send import Step, one_try
from ._stores import Stores
from .journal import Journal
from .manifest import FaceUpload, ManifestError

__all__ = ["EnrollJob"]

Entry = FaceUpload | ManifestError


class EnrollJob:
    """A running enrollment: an async iterator of ``ItemResult`` with a ``report``.

    Iterate it once. Use ``async with job:`` around the loop (or ``await job.aclose()``) when
    leaving it early, so the workers stop at once.
    """

    def __init__(
        self,
        client: BulkClient,
        uploads: Iterable[Entry] | AsyncIterable[Entry],
        options: EnrollOptions,
    ) -> None:
        self.options = options
        #: The stores of the job: calls routed to each group's store, rows resolved per store.
        self.stores = Stores(client, options.per_store_concurrency, look_up=not options.dry_run)
        client = self.client = self.stores.client
        self._uploads = self.stores.entries(uploads)
        #: Seconds after which an upload left in flight can no longer land (``settle``).
        self.settle = default_settle(client) if options.settle is None else options.settle
        self.retry = options.retry_policy
        #: The client uploads go through: its own retries off, the job's budget is the one.
        self.uploader = one_try(client)
        #: Unix time before which an upload left in flight by an earlier run may still land.
        self.not_before: dict[str, float] = {}
        self._journal: Journal | None = None
        self._engine: BulkMap[Any, Step] | None = None
        self.books = Books(options, self._in_flight)
        self.report: EnrollReport = self.books.report
        if isinstance(uploads, Sequence):
            self.books.track.count(uploads)
        elif isinstance(uploads, Sized):
            self.books.track.count_unsized(len(uploads))
        # One limiter for every pass. The engine applies it (and the concurrency cap) only
        # around each request, so picture reads and journal writes overlap with requests and
        # cannot bunch them up.
        rate, burst = options.rate, options.burst
        self._limiter = (
            RateLimiter(rate, burst if burst is not None else options.concurrency) if rate else None
        )
        self._stream: AsyncGenerator[ItemResult, None] | None = None
        #: Whether accepted items are confirmed after the upload passes (``_confirm``).
        self.confirming = options.confirm is not None and not options.dry_run
        if self.confirming:
            self.books.hold = held
            self.report.confirm = options.confirm
        #: Unix time the job started (an accepted row older than that is an earlier run's).
        self.started_at = time.time()

    # -- the public surface -----------------------------------------------------------------

    def __aiter__(self) -> AsyncGenerator[ItemResult, None]:
        if self._stream is not None:
            raise RuntimeError("an enrollment job can be iterated only once")
        self._stream = self._results()
        return self._stream

    async def run(self) -> EnrollReport:
        """Consume every result and return the report."""
        async with self:
            async for _ in self:
                pass
        return self.report

    async def aclose(self) -> None:
        if self._stream is not None:
            await self._stream.aclose()

    async def __aenter__(self) -> EnrollJob:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- what the passes share --------------------------------------------------------------

    @property
    def journal(self) -> Journal:
        """The open journal (only while the job runs)."""
        assert self._journal is not None
        return self._journal

    @property
    def engine(self) -> BulkMap[Any, Step]:
        """The engine of the pass that runs now."""
        assert self._engine is not None
        return self._engine

    def _in_flight(self) -> int:
        return self._engine.stats.in_flight if self._engine is not None else 0

    def make_engine(
        self,
        items: Iterable[Any] | AsyncIterable[Any],
        fn: Callable[[Any], Awaitable[Step | None]],
    ) -> BulkMap[Any, Step]:
        """An engine for one pass, sharing the job's limiter; it becomes ``engine``."""
        options = self.options
        engine: BulkMap[Any, Step] = BulkMap(
            items,
            fn,
            slot_per_call=False,
            limiter=self._limiter,
            on_abandoned=self.books.abandoned,
            on_limit_change=self.books.limit_changed,
            concurrency=options.concurrency,
            adaptive=options.adaptive,
            ordered=options.ordered,
        )
        self._engine = engine
        return engine

    # -- the passes -------------------------------------------------------------------------

    def _open_journal(self) -> tuple[Journal, bool]:
        given = self.options.journal
        if self.options.dry_run or given is None:
            # A private, disk-backed journal still finds duplicates with flat memory.
            return Journal(""), True
        if isinstance(given, Journal):
            return given, False
        return Journal(given, resume=self.options.resume), True

    async def _results(self) -> AsyncGenerator[ItemResult, None]:
        self.books.started = anyio.current_time()
        self.started_at = time.time()
        journal, owned = self._open_journal()
        self._journal = journal
        finished = False
        options = self.options
        try:
            journal.open()
            journal.resend_rejected = options.resend_rejected
            journal.bind(
                job_identity(self.client, options.external_key_slot, options.shard, options.job),
                options.job_settings,
            )
            async with aclosing(self._passes()) as results:
                async for result in results:
                    yield result
            await journal.flush()  # the outcomes still queued: a failure here is the job's
            finished = True
        except Exception:
            if journal.broken is not None:
                # Every worker saw the same broken journal: one error, naming file and cause.
                raise journal.broken from None
            raise
        finally:
            self.report.elapsed = anyio.current_time() - self.books.started
            self.report.cancelled = not finished
            if owned:
                journal.close()
            else:
                journal.commit_pending()

    async def _process(self, entry: Entry) -> Step | None:
        async with self.stores.lane(entry):
            return await process(self, await self.stores.resolve(entry))

    async def _passes(self) -> AsyncGenerator[ItemResult, None]:
        async with aclosing(self._upload_passes()) as results:
            async for result in results:
                if not (self.confirming and held(result)):
                    yield result
        if self.confirming:
            async with aclosing(confirm(self)) as results:
                async for result in results:
                    yield result

    async def _upload_passes(self) -> AsyncGenerator[ItemResult, None]:
        finish = self.books.finish
        deferred: list[tuple[FaceUpload, str]] = []
        async with self.make_engine(self._uploads, self._process) as steps:
            async for step in steps:
                if step.deferred is not None:
                    deferred.append(step.deferred)
                elif step.result is not None:
                    yield finish(step.result)
        for _ in range(self.options.reconcile_rounds):
            if not deferred:
                break
            pending, deferred = deferred, []
            async with aclosing(reconcile(self, pending, deferred)) as results:
                async for result in results:
                    yield result
        for upload, key in deferred:
            yield finish(await give_up(self, upload, key))
