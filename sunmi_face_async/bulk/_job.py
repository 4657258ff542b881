"""The running enrollment behind ``enroll``: passes, one item's path, bookkeeping.

The main pass streams every upload through the engine. Uploads whose outcome is unknown are
kept aside (with ``external_key_slot``) and reconciled after it, in rounds: list each group
once, settle what is found, send the rest again.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Iterable, Sized
from contextlib import aclosing
from typing import Any

import anyio
import attrs

from ..errors import ValidationError
from ._engine import BulkMap
from ._pictures import load_picture
from ._policy import (
    backoff,
    fallback_key,
    in_shard,
    item_key,
    signal_of,
    surely_not_applied,
)
from ._ratelimit import RateLimiter
from ._results import BulkEvent, EnrollReport, ItemResult, Outcome, Progress
from .export import export_faces
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
        self._total = len(uploads) if isinstance(uploads, Sized) else None
        self.report = EnrollReport()
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
        return Journal(self._journal_arg), True

    async def _results(self) -> AsyncGenerator[ItemResult, None]:
        self._started = anyio.current_time()
        journal, owned = self._open_journal()
        self._journal = journal
        finished = False
        try:
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
                async with aclosing(self._reconcile(pending, deferred)) as results:
                    async for result in results:
                        yield result
            for upload, key in deferred:
                yield self._finish(await self._give_up(upload, key))
            finished = True
        finally:
            self.report.elapsed = anyio.current_time() - self._started
            self.report.cancelled = not finished
            if owned:
                journal.close()

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

    async def _reconcile(
        self, deferred: list[tuple[FaceUpload, str]], again: list[tuple[FaceUpload, str]]
    ) -> AsyncGenerator[ItemResult, None]:
        """List each group once, settle what is found, send the rest again (unknown
        outcomes of the new sends go to ``again``)."""
        assert self._slot is not None
        assert self._journal is not None
        by_group: dict[str, dict[str, FaceUpload]] = {}
        for upload, key in deferred:
            by_group.setdefault(upload.group_id, {})[key] = upload
        resend: list[tuple[FaceUpload, str]] = []
        for group_id, wanted in by_group.items():
            await self._wait_to_settle(group_id, wanted)
            try:
                found = await self._list_keys(group_id, wanted.keys())
            except Exception as exc:
                # Without the listing nothing is known: report the items, never send blindly.
                why = f"could not list group {group_id} to reconcile: {exc}"
                for key, upload in wanted.items():
                    self._event("reconcile", key, detail="listing failed")
                    await self._journal.mark_unknown(key, why)
                    result = ItemResult(key, Outcome.UNKNOWN, None, why, upload.line, upload)
                    yield self._finish(result)
                continue
            for key, upload in wanted.items():
                face_id = found.get(key)
                self._event("reconcile", key, detail="found" if face_id else "absent, resending")
                if face_id is None:
                    resend.append((upload, key))
                    continue
                await self._journal.mark_done(key, face_id)
                yield self._finish(
                    ItemResult(key, Outcome.DONE, face_id, None, upload.line, upload)
                )
        engine = self._make_engine(resend, self._resend)
        async with aclosing(engine.__aiter__()) as steps:
            async for step in steps:
                if step.deferred is not None:
                    again.append(step.deferred)
                elif step.result is not None:
                    yield self._finish(step.result)

    async def _wait_to_settle(self, group_id: str, wanted: dict[str, FaceUpload]) -> None:
        """Let uploads a killed run still had on the wire land before the group is listed."""
        deadlines = [self._not_before.pop(key) for key in wanted if key in self._not_before]
        wait = max(deadlines, default=0.0) - time.time()
        if wait > 0:
            self._event(
                "reconcile", None, detail=f"waiting {wait:.1f} s before listing group {group_id}"
            )
            await anyio.sleep(wait)

    async def _list_keys(self, group_id: str, wanted: Iterable[str]) -> dict[str, str]:
        """The face_id of each wanted external key found in the group's slot."""
        assert self._slot is not None
        wanted = set(wanted)
        found: dict[str, str] = {}
        async for face in export_faces(self._client, group_id):
            value = face.customer_value(self._slot)
            if value in wanted and value not in found:
                found[value] = face.face_id
        return found

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
            return None
        try:
            values = self._customer_values(upload)
            data, digest = await load_picture(upload.pic)
        except ValidationError as exc:
            return _Step(ItemResult(fallback, Outcome.INVALID, None, str(exc), upload.line, upload))
        key = item_key(upload, digest)
        if not in_shard(key, self._shard):
            return None
        assert self._journal is not None
        decision, detail = await self._journal.claim(key, upload.group_id, digest, line=upload.line)
        if decision is Claim.SKIP:
            return _Step(ItemResult(key, Outcome.SKIPPED, detail, None, upload.line, upload))
        if decision is Claim.DUPLICATE:
            why = f"the same picture as {detail} in group {upload.group_id} was already sent"
            if detail == key and upload.external_key:
                why = "this external key was already enrolled in this job"
            elif detail == key:
                why = f"the same picture was already sent to group {upload.group_id} in this job"
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
                    await anyio.sleep(backoff(error, attempt, self._retry_delay))
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

    async def _give_up(self, upload: FaceUpload, key: str) -> ItemResult:
        why = f"still unknown after {self._rounds} reconciliation rounds"
        if self._journal is not None:
            await self._journal.mark_unknown(key, why)
        return ItemResult(key, Outcome.UNKNOWN, None, why, upload.line, upload)

    def _customer_values(self, upload: FaceUpload) -> list[str] | None:
        values = list(upload.customer_values)
        if len(values) > 5:
            raise ValidationError("customer_values", "at most 5 values")
        if self._slot is None or not upload.external_key:
            return values or None
        values += [""] * (self._slot - len(values))
        held = values[self._slot - 1]
        if held and held != upload.external_key:
            raise ValidationError(
                "customer_values",
                f"slot {self._slot} holds {held!r}, but it carries the external key",
            )
        values[self._slot - 1] = upload.external_key
        return values

    # -- bookkeeping ------------------------------------------------------------------------

    def _finish(self, result: ItemResult) -> ItemResult:
        self.report.add(result)
        self._event("item_done", result.key, outcome=result.outcome, detail=result.error or "")
        if self._on_progress is not None:
            in_flight = self._engine.stats.in_flight if self._engine else 0
            elapsed = anyio.current_time() - self._started
            self._on_progress(self.report.progress(self._total, in_flight, elapsed))
        return result

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
