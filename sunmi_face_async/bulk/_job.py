"""The running enrollment behind ``enroll``: passes, one item's path, bookkeeping.

The main pass streams every upload through the engine. Uploads whose outcome is unknown are
kept aside (with ``external_key_slot``) and reconciled after it, in rounds: list each group
once, settle what is found, send the rest again.
"""

from __future__ import annotations

import os
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Callable,
    Iterable,
    Mapping,
    Sequence,
    Sized,
)
from contextlib import aclosing
from typing import Any

import anyio
import attrs

from ..errors import ThrottledError, ValidationError
from ._engine import BulkMap
from ._naming import duplicate_reason
from ._pictures import load_picture
from ._policy import (
    about,
    backoff,
    check_upload,
    customer_values,
    fallback_key,
    in_shard,
    item_key,
    job_identity,
    signal_of,
    surely_not_applied,
)
from ._ratelimit import RateLimiter
from ._reconcile import give_up, reconcile
from ._results import BulkEvent, EnrollReport, ItemResult, Outcome, Progress
from ._tracking import Tracker
from .journal import Claim, Journal, Status
from .manifest import FaceUpload, ManifestError

__all__ = ["EnrollJob", "EnrollOptions"]

Entry = FaceUpload | ManifestError


@attrs.define
class _Step:
    """One worker call's end: a result, or an upload left for reconciliation."""

    result: ItemResult | None = None
    deferred: tuple[FaceUpload, str] | None = None


@attrs.frozen
class EnrollOptions:
    """The options of ``enroll`` (see there)."""

    concurrency: int
    rate: float | None
    burst: int | None
    adaptive: bool
    ordered: bool
    journal: str | os.PathLike[str] | Journal | None
    external_key_slot: int | None
    shard: tuple[int, int] | None
    dry_run: bool
    on_event: Callable[[BulkEvent], None] | None
    on_progress: Callable[[Progress], None] | None
    max_attempts: int
    reconcile_rounds: int
    retry_delay: float
    settle: float
    resume: bool | None = None
    job: Mapping[str, Any] | None = None
    job_settings: Mapping[str, Any] | None = None
    max_listed: int | None = 1000


class EnrollJob:
    """A running enrollment: an async iterator of ``ItemResult`` with a ``report``.

    Iterate it once. Use ``async with job:`` around the loop (or ``await job.aclose()``) when
    leaving it early, so the workers stop at once.
    """

    def __init__(
        self,
        client: Any,
        uploads: Iterable[Entry] | AsyncIterable[Entry],
        options: EnrollOptions,
    ) -> None:
        self._client = client
        self._uploads = uploads
        self._options = options
        self._slot = options.external_key_slot
        self._shard = options.shard
        self._dry_run = options.dry_run
        self._on_event = options.on_event
        self._on_progress = options.on_progress
        self._max_attempts = options.max_attempts
        self._rounds = options.reconcile_rounds
        self._retry_delay = options.retry_delay
        self._settle = options.settle
        #: Unix time before which an upload left in flight by an earlier run may still land.
        self._not_before: dict[str, float] = {}
        self._journal_arg = options.journal
        self._journal: Journal | None = None
        self._started = 0.0
        self.report = EnrollReport(max_listed=options.max_listed)
        self._track = Tracker(options.shard)
        if isinstance(uploads, Sequence):
            self._track.count(uploads)
        elif isinstance(uploads, Sized):
            self._track.count_unsized(len(uploads))
        # One limiter for every pass. The engine applies it (and the concurrency cap) only
        # around each request, so picture reads and journal writes overlap with requests and
        # cannot bunch them up.
        rate, burst = options.rate, options.burst
        self._limiter = (
            RateLimiter(rate, burst if burst is not None else options.concurrency) if rate else None
        )
        self._engine: BulkMap[Any, _Step] | None = None
        self._stream: AsyncGenerator[ItemResult, None] | None = None

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

    # -- the passes -------------------------------------------------------------------------

    def _open_journal(self) -> tuple[Journal, bool]:
        if self._dry_run or self._journal_arg is None:
            # A private, disk-backed journal still finds duplicates with flat memory.
            return Journal(""), True
        if isinstance(self._journal_arg, Journal):
            return self._journal_arg, False
        return Journal(self._journal_arg, resume=self._options.resume), True

    async def _results(self) -> AsyncGenerator[ItemResult, None]:
        self._started = anyio.current_time()
        journal, owned = self._open_journal()
        self._journal = journal
        finished = False
        try:
            journal.open()
            journal.bind(
                job_identity(self._client, self._slot, self._shard, self._options.job),
                self._options.job_settings,
            )
            async with aclosing(self._passes()) as results:
                async for result in results:
                    yield result
            finished = True
        except Exception:
            if journal.broken is not None:
                # Every worker saw the same broken journal: one error, naming file and cause.
                raise journal.broken from None
            raise
        finally:
            self.report.elapsed = anyio.current_time() - self._started
            self.report.cancelled = not finished
            if owned:
                journal.close()

    async def _passes(self) -> AsyncGenerator[ItemResult, None]:
        deferred: list[tuple[FaceUpload, str]] = []
        engine = self._make_engine(self._uploads, self._process)
        async with aclosing(engine.__aiter__()) as steps:
            async for step in steps:
                if step.deferred is not None:
                    deferred.append(step.deferred)
                elif step.result is not None:
                    yield self._finish(step.result)
        for _ in range(self._rounds):
            if not deferred:
                break
            pending, deferred = deferred, []
            async with aclosing(reconcile(self, pending, deferred)) as results:
                async for result in results:
                    yield result
        for upload, key in deferred:
            yield self._finish(await give_up(self, upload, key))

    def _make_engine(
        self, items: Iterable[Any] | AsyncIterable[Any], fn: Callable[[Any], Any]
    ) -> BulkMap[Any, _Step]:
        engine: BulkMap[Any, _Step] = BulkMap(
            items,
            fn,
            gate_calls=False,
            limiter=self._limiter,
            on_abandoned=self._abandoned,
            on_limit_change=self._limit_changed,
            concurrency=self._options.concurrency,
            adaptive=self._options.adaptive,
            ordered=self._options.ordered,
        )
        self._engine = engine
        return engine

    # -- one item ---------------------------------------------------------------------------

    async def _process(self, entry: Entry) -> _Step | None:
        if isinstance(entry, ManifestError):
            return _Step(
                ItemResult(
                    f"line:{entry.line}", Outcome.INVALID, None, entry.message, entry.line, entry
                )
            )
        upload = entry
        fallback = fallback_key(upload)
        if upload.external_key and not in_shard(upload.external_key, self._shard):
            self._track.seen(keyed=True, taken=False)
            return None
        try:
            values = self._customer_values(upload)
            data, digest = await load_picture(upload.pic)
        except ValidationError as exc:
            self._track.seen(keyed=bool(upload.external_key), taken=True)
            return _Step(ItemResult(fallback, Outcome.INVALID, None, str(exc), upload.line, upload))
        key = item_key(upload, digest)
        taken = in_shard(key, self._shard)
        self._track.seen(keyed=bool(upload.external_key), taken=taken)
        if not taken:
            return None
        try:
            await check_upload(self._client, upload, data, values)
        except ValidationError as exc:
            return _Step(ItemResult(key, Outcome.INVALID, None, str(exc), upload.line, upload))
        assert self._journal is not None
        decision, detail = await self._journal.claim(
            key, upload.group_id, digest, line=upload.line, about=about(upload, values)
        )
        if decision is Claim.SKIP:
            return _Step(ItemResult(key, Outcome.SKIPPED, detail, None, upload.line, upload))
        if decision is Claim.DUPLICATE:
            why = await duplicate_reason(self._journal, upload, key, detail)
            return _Step(ItemResult(key, Outcome.DUPLICATE, None, why, upload.line, upload))
        if decision is Claim.UNKNOWN:
            state = await self._journal.state(key)
            if state is not None and state[0] is Status.IN_FLIGHT:
                self._not_before[key] = state[1] + self._settle
            return self._unknown(upload, key, "an earlier run left its outcome unknown")
        if self._dry_run:
            return _Step(ItemResult(key, Outcome.CHECKED, None, None, upload.line, upload))
        return await self._send(upload, key, data, values)

    async def _resend(self, item: tuple[FaceUpload, str]) -> _Step:
        upload, key = item
        assert self._journal is not None
        try:
            values = self._customer_values(upload)
            data, _ = await load_picture(upload.pic)
        except ValidationError as exc:
            await self._journal.mark_failed(key, str(exc))
            return _Step(ItemResult(key, Outcome.INVALID, None, str(exc), upload.line, upload))
        await self._journal.resend(key)
        self._event("retry", key, detail="not found on the server: sending again")
        return await self._send(upload, key, data, values)

    async def _send(
        self, upload: FaceUpload, key: str, data: bytes, values: list[str] | None
    ) -> _Step:
        assert self._journal is not None
        on_the_wire = False
        try:
            for attempt in range(1, self._max_attempts + 1):
                on_the_wire = False
                error: Exception | None = None
                assert self._engine is not None
                await anyio.lowlevel.checkpoint()  # a pending cancel lands before sending
                async with self._engine.slot() as slot:
                    on_the_wire = True
                    self.report.sent += 1
                    try:
                        face_id: str = await self._client.faces.add(
                            upload.group_id,
                            pic=data,
                            name=upload.name,
                            gender=upload.gender,
                            age_range=upload.age_range,
                            customer_values=values,
                        )
                    except Exception as exc:
                        error = exc
                        slot.signal = signal_of(exc)
                if error is None:
                    await self._journal.mark_done(key, face_id)
                    return _Step(ItemResult(key, Outcome.DONE, face_id, None, upload.line, upload))
                if getattr(error, "outcome_unknown", False):
                    await self._journal.mark_unknown(key, str(error))
                    return self._unknown(upload, key, str(error))
                if surely_not_applied(error) and attempt < self._max_attempts:
                    on_the_wire = False  # the last try surely did not land
                    self._event("retry", key, attempt=attempt + 1, detail=str(error))
                    why = "throttled" if isinstance(error, ThrottledError) else "refused"
                    self._retrying(why, +1)
                    try:
                        await anyio.sleep(backoff(error, attempt, self._retry_delay))
                    finally:
                        self._retrying(why, -1)
                    continue
                await self._journal.mark_failed(key, str(error))
                return _Step(ItemResult(key, Outcome.FAILED, None, str(error), upload.line, upload))
        except anyio.get_cancelled_exc_class():
            if not on_the_wire:
                # Claimed but never sent: not ambiguous, a resumed job simply sends it.
                with anyio.CancelScope(shield=True):
                    await self._journal.mark_failed(key, "cancelled before it was sent")
            raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _unknown(self, upload: FaceUpload, key: str, why: str) -> _Step:
        if self._slot is not None and upload.external_key:
            return _Step(deferred=(upload, key))
        return _Step(ItemResult(key, Outcome.UNKNOWN, None, why, upload.line, upload))

    def _customer_values(self, upload: FaceUpload) -> list[str] | None:
        return customer_values(upload, self._slot)

    # -- bookkeeping ------------------------------------------------------------------------

    def _finish(self, result: ItemResult) -> ItemResult:
        self.report.add(result)
        self._event("item_done", result.key, outcome=result.outcome, detail=result.error or "")
        self._progress()
        return result

    def _progress(self) -> None:
        if self._on_progress is not None:
            in_flight = self._engine.stats.in_flight if self._engine else 0
            elapsed = anyio.current_time() - self._started
            total, phase = self._track.total, self._track.text()
            self._on_progress(self.report.progress(total, in_flight, elapsed, phase))

    def _set_phase(self, phase: str) -> None:
        """Say what the job does now (an event and a progress snapshot), if it changed."""
        if phase != self._track.phase:
            self._track.phase = phase
            self._event("phase", None, detail=phase)
            self._progress()

    def _retrying(self, why: str, step: int) -> None:
        self._track.retrying[why] += step
        self._event("phase", None, detail=self._track.text())
        self._progress()

    def _event(
        self,
        kind: str,
        key: str | None,
        *,
        outcome: Outcome | None = None,
        attempt: int | None = None,
        detail: str = "",
    ) -> None:
        if self._on_event is not None:
            elapsed = anyio.current_time() - self._started
            self._on_event(BulkEvent(kind, key, outcome, attempt, detail, elapsed))

    def _abandoned(self, entry: Any) -> None:
        key = entry[1] if isinstance(entry, tuple) else None
        if isinstance(entry, FaceUpload):
            key = fallback_key(entry)
        self._event("abandoned", key, detail="cancelled before it finished")

    def _limit_changed(self, before: int, after: int, reason: str) -> None:
        self._event("limit", None, detail=f"concurrency {before} -> {after}: {reason}")
