"""Bulk enrollment: ``enroll(client, uploads, ...)`` streams one ``ItemResult`` per upload.

For each upload: read, validate and hash the picture in a worker thread; compute its stable
key (the external key, else group plus picture hash); keep it only if it falls in this
``shard``; ask the journal (claim: skip, duplicate, unknown or send, and mark in flight); send
it; record done or failed. An upload whose outcome is unknown is never blindly sent again:
with ``external_key_slot`` it is reconciled after the main pass (list the group once, match
the slot: found is done, absent is sent again); otherwise it ends UNKNOWN and is listed in
the report.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Iterable, Sized
from typing import Any

import anyio
import attrs
import httpx

from ..errors import APIError, ServerError, ThrottledError, TransportError, ValidationError
from ._adaptive import Signal
from ._engine import BulkMap
from ._pictures import load_picture
from ._ratelimit import RateLimiter
from ._results import BulkEvent, EnrollReport, ItemResult, Outcome, Progress
from .export import export_faces
from .journal import Claim, Journal, Status
from .manifest import FaceUpload, ManifestError

__all__ = ["EnrollJob", "enroll", "in_shard", "item_key"]

Entry = FaceUpload | ManifestError


def item_key(upload: FaceUpload, content_hash: str) -> str:
    """The journal key: the external key if given, else the group and the picture's hash."""
    return upload.external_key or f"{upload.group_id}:{content_hash}"


def in_shard(key: str, shard: tuple[int, int] | None) -> bool:
    """Whether ``key`` belongs to shard ``(k, n)``: a stable hash of the key, mod n, is k."""
    if shard is None:
        return True
    k, n = shard
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % n == k


@attrs.define
class _Step:
    """One worker call's end: a result, or an upload left for reconciliation."""

    result: ItemResult | None = None
    deferred: tuple[FaceUpload, str] | None = None


def enroll(
    client: Any,
    uploads: Iterable[Entry] | AsyncIterable[Entry],
    *,
    concurrency: int = 16,
    rate: float | None = None,
    burst: int | None = None,
    adaptive: bool = True,
    ordered: bool = False,
    journal: str | os.PathLike[str] | Journal | None = None,
    external_key_slot: int | None = None,
    shard: tuple[int, int] | None = None,
    dry_run: bool = False,
    on_event: Callable[[BulkEvent], None] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    max_attempts: int = 3,
    reconcile_rounds: int = 3,
    retry_delay: float = 0.25,
    settle: float | None = None,
) -> EnrollJob:
    """Enroll ``uploads``; iterate the job for results, or ``await job.run()`` for the report.

    ``journal`` (a path or a ``Journal``) makes the job resumable: run it again with the same
    journal and what is done is skipped. ``external_key_slot`` (1 to 5) names the
    ``customer_value`` slot that carries each upload's ``external_key`` on the server, which
    lets uploads with an unknown outcome be reconciled instead of reported. An upload the
    server surely did not apply (throttled, or never sent) is tried up to ``max_attempts``
    times, ``retry_delay`` doubling between tries (a ``Retry-After`` hint wins).

    Uploads an earlier (killed) run left in flight may still land on the server for a while:
    they are reconciled only ``settle`` seconds after they were sent (default: the client's
    ``timeout`` plus 5 s, else 35 s), waiting if the earlier run died less than that ago.
    """
    if external_key_slot is not None and not 1 <= external_key_slot <= 5:
        raise ValueError("external_key_slot must be 1 to 5")
    if shard is not None:
        k, n = shard
        if n < 1 or not 0 <= k < n:
            raise ValueError("shard must be (k, n) with 0 <= k < n")
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    return EnrollJob(
        client,
        uploads,
        concurrency=concurrency,
        rate=rate,
        burst=burst,
        adaptive=adaptive,
        ordered=ordered,
        journal=journal,
        external_key_slot=external_key_slot,
        shard=shard,
        dry_run=dry_run,
        on_event=on_event,
        on_progress=on_progress,
        max_attempts=max_attempts,
        reconcile_rounds=reconcile_rounds,
        retry_delay=retry_delay,
        settle=_default_settle(client) if settle is None else settle,
    )


class EnrollJob:
    """A running enrollment: an async iterator of ``ItemResult`` with a ``report``.

    Iterate it once. Use ``async with job:`` around the loop (or ``await job.aclose()``) when
    leaving it early, so the workers stop at once.
    """

    def __init__(
        self,
        client: Any,
        uploads: Iterable[Entry] | AsyncIterable[Entry],
        *,
        concurrency: int,
        rate: float | None,
        burst: int | None,
        adaptive: bool,
        ordered: bool,
        journal: str | os.PathLike[str] | Journal | None,
        external_key_slot: int | None,
        shard: tuple[int, int] | None,
        dry_run: bool,
        on_event: Callable[[BulkEvent], None] | None,
        on_progress: Callable[[Progress], None] | None,
        max_attempts: int,
        reconcile_rounds: int,
        retry_delay: float,
        settle: float,
    ) -> None:
        self._client = client
        self._uploads = uploads
        self._slot = external_key_slot
        self._shard = shard
        self._dry_run = dry_run
        self._on_event = on_event
        self._on_progress = on_progress
        self._max_attempts = max_attempts
        self._rounds = reconcile_rounds
        self._retry_delay = retry_delay
        self._settle = settle
        #: Unix time before which an upload left in flight by an earlier run may still land.
        self._not_before: dict[str, float] = {}
        self._journal_arg = journal
        self._journal: Journal | None = None
        self._started = 0.0
        self._total = len(uploads) if isinstance(uploads, Sized) else None
        self.report = EnrollReport()
        self._engine_args: dict[str, Any] = {
            "concurrency": concurrency,
            "adaptive": adaptive,
            "ordered": ordered,
        }
        # One limiter for every pass. The engine applies it (and the concurrency cap) only
        # around each request, so picture reads and journal writes overlap with requests and
        # cannot bunch them up.
        self._limiter = (
            RateLimiter(rate, burst if burst is not None else concurrency) if rate else None
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
            async for step in engine:
                if step.deferred is not None:
                    deferred.append(step.deferred)
                elif step.result is not None:
                    yield self._finish(step.result)
            for _ in range(self._rounds):
                if not deferred:
                    break
                pending, deferred = deferred, []
                async for result in self._reconcile(pending, deferred):
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
            **self._engine_args,
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
                yield self._finish(ItemResult(key, Outcome.DONE, face_id, line=upload.line))
        engine = self._make_engine(resend, self._resend)
        async for step in engine:
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
        fallback = _fallback_key(upload)
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
        assert self._engine is not None
        for attempt in range(1, self._max_attempts + 1):
            error: Exception | None = None
            async with self._engine.slot() as slot:
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
                    slot.signal = _signal_of(exc)
            if error is None:
                await self._journal.mark_done(key, face_id)
                return _Step(ItemResult(key, Outcome.DONE, face_id, None, upload.line, upload))
            if getattr(error, "outcome_unknown", False):
                await self._journal.mark_unknown(key, str(error))
                return self._unknown(upload, key, str(error))
            if _transient(error) and attempt < self._max_attempts:
                self._event("retry", key, attempt=attempt + 1, detail=str(error))
                await anyio.sleep(_backoff(error, attempt, self._retry_delay))
                continue
            await self._journal.mark_failed(key, str(error))
            return _Step(ItemResult(key, Outcome.FAILED, None, str(error), upload.line, upload))
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
            counts = self.report.counts
            elapsed = anyio.current_time() - self._started
            finished = self.report.total
            self._on_progress(
                Progress(
                    done=counts[Outcome.DONE] + counts[Outcome.CHECKED],
                    failed=counts[Outcome.FAILED] + counts[Outcome.INVALID],
                    skipped=counts[Outcome.SKIPPED] + counts[Outcome.DUPLICATE],
                    unknown=counts[Outcome.UNKNOWN],
                    total=self._total,
                    in_flight=self._engine.stats.in_flight if self._engine else 0,
                    elapsed=elapsed,
                    rate=finished / elapsed if elapsed > 0 else 0.0,
                )
            )
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
            key = _fallback_key(entry)
        self._event("abandoned", key, detail="cancelled before it finished")

    def _limit_changed(self, before: int, after: int, reason: str) -> None:
        self._event("limit", None, detail=f"concurrency {before} -> {after}: {reason}")


def _default_settle(client: Any) -> float:
    timeout = getattr(client, "timeout", None)
    if isinstance(timeout, httpx.Timeout):
        timeout = timeout.read
    if isinstance(timeout, int | float) and not isinstance(timeout, bool):
        return float(timeout) + 5.0
    return 35.0


def _fallback_key(upload: FaceUpload) -> str:
    if upload.external_key:
        return upload.external_key
    if upload.line is not None:
        return f"line:{upload.line}"
    if isinstance(upload.pic, str | os.PathLike):
        return os.fspath(upload.pic)
    return f"{upload.group_id}:<bytes>"


def _signal_of(exc: Exception) -> Signal:
    if isinstance(exc, ThrottledError):
        return Signal.THROTTLED
    if isinstance(exc, ServerError | TransportError):
        return Signal.SERVER_ERROR
    return Signal.OK


def _transient(exc: Exception) -> bool:
    """Surely not applied, and worth another try later."""
    if isinstance(exc, TransportError):
        return not exc.sent
    return isinstance(exc, ThrottledError | ServerError) and not (
        isinstance(exc, APIError) and exc.outcome_unknown
    )


def _backoff(exc: Exception, attempt: int, base: float) -> float:
    hint = exc.retry_after if isinstance(exc, APIError) else None
    if hint is not None and hint > 0:
        return min(float(hint), 30.0)
    return float(min(base * 2 ** (attempt - 1), 5.0))
