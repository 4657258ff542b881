"""Sending one upload: ``faces.add`` under an engine slot, tried again while the server
surely did not apply it, the journal told each outcome.

A job has one retry budget: ``max_attempts`` sends per upload. Every try is made here, on a
view of the client with its own retries off (``with_options(retry=NO_RETRY)``), so the
client's attempts never multiply the job's, each try takes its own engine slot and tells
the adaptive limit how it went, and a wait before the next try (a ``Retry-After`` hint, or
the backoff) holds no slot. A client that cannot turn its retries off is used as it is.

An error whose outcome is unknown is never retried here: the upload is kept for
reconciliation (with an external key slot) or ends UNKNOWN. A cancel before the request
went out marks the item failed (a resumed job simply sends it); one after leaves it in
flight, for the next run to reconcile.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio
import attrs

from .. import NO_RETRY, RetryPolicy
from ..errors import (
    APIError,
    InvalidNonceError,
    ThrottledError,
    TimestampExpiredError,
    ValidationError,
)
from ._pictures import load_picture
from ._policy import customer_values, signal_of, surely_not_applied
from ._results import ItemResult, Outcome
from .journal import Status
from .manifest import FaceUpload

if TYPE_CHECKING:
    from ._job import EnrollJob

__all__ = ["Step", "one_try", "resend", "send", "unknown"]


@attrs.define
class Step:
    """One worker call's end: a result, or an upload left for reconciliation."""

    result: ItemResult | None = None
    deferred: tuple[FaceUpload, str] | None = None


def one_try(client: Any) -> Any:
    """The client whose ``faces.add`` makes a single attempt, if it can give one."""
    with_options = getattr(client, "with_options", None)
    if with_options is None:
        return client
    return with_options(retry=NO_RETRY)


def unknown(job: EnrollJob, upload: FaceUpload, key: str, why: str) -> Step:
    """An upload whose outcome is unknown: reconciled later if it can be, else reported."""
    if job.options.external_key_slot is not None and upload.external_key:
        return Step(deferred=(upload, key))
    return Step(ItemResult(key, Outcome.UNKNOWN, None, why, upload.line, upload))


async def resend(job: EnrollJob, item: tuple[FaceUpload, str]) -> Step:
    """Send again an upload that reconciliation found absent from its group."""
    upload, key = item
    journal = job.journal
    try:
        values = customer_values(upload, job.options.external_key_slot)
        data, _ = await load_picture(upload.pic)
    except ValidationError as exc:
        await journal.mark_failed(key, str(exc))
        return Step(ItemResult(key, Outcome.INVALID, None, str(exc), upload.line, upload))
    await journal.resend(key)
    job.books.event("retry", key, detail="not found on the server: sending again")
    return await send(job, upload, key, data, values)


def _delay(error: Exception, attempt: int, policy: RetryPolicy) -> float:
    """The wait before try ``attempt + 1``: the server's hint wins, else the policy's backoff.
    A clock or nonce refusal (5091/5092) is tried again at once: a fresh signature fixes it."""
    if isinstance(error, TimestampExpiredError | InvalidNonceError):
        return 0.0
    hint = error.retry_after if isinstance(error, APIError) else None
    if hint is not None and hint > 0:
        return min(float(hint), policy.max_retry_after)
    return policy.backoff(attempt)


def _named(upload: FaceUpload, key: str) -> str:
    pic = upload.pic
    return str(pic) if isinstance(pic, (str, os.PathLike)) else key


async def _record(
    job: EnrollJob,
    upload: FaceUpload,
    key: str,
    status: Status,
    *,
    face_id: str | None = None,
    error: str | None = None,
) -> None:
    """Record an outcome in the journal's next batch (committed within ``DEFER_SECONDS``)."""
    journal = job.journal
    named = _named(upload, key) if status is not Status.UNKNOWN else None
    await journal.record(key, status, face_id=face_id, error=error, named=named)
    if journal.needs_timer():
        job.engine.soon(journal.flush_later)


async def send(
    job: EnrollJob,
    upload: FaceUpload,
    key: str,
    data: bytes,
    values: list[str] | None,
    *,
    on_slot: Callable[[], None] | None = None,
) -> Step:
    """Send ``upload`` (already claimed in the journal) and record how it ended.

    ``on_slot`` is called once: when the first try takes its slot, or when the upload ends
    without one (the claim batcher counts the uploads waiting for a slot).
    """
    books, policy = job.books, job.retry
    on_the_wire = False
    try:
        for attempt in range(1, policy.max_attempts + 1):
            on_the_wire = False
            error: Exception | None = None
            await anyio.lowlevel.checkpoint()  # a pending cancel lands before sending
            async with job.engine.slot() as slot:
                if on_slot is not None:
                    on_slot()
                    on_slot = None
                on_the_wire = True
                books.report.sent += 1
                try:
                    face_id = await job.uploader.faces.add(
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
                await _record(job, upload, key, Status.DONE, face_id=face_id)
                return Step(ItemResult(key, Outcome.DONE, face_id, None, upload.line, upload))
            if getattr(error, "outcome_unknown", False):
                await _record(job, upload, key, Status.UNKNOWN, error=str(error))
                return unknown(job, upload, key, str(error))
            if surely_not_applied(error) and attempt < policy.max_attempts:
                on_the_wire = False  # the last try surely did not land
                books.event("retry", key, attempt=attempt + 1, detail=str(error))
                why = "throttled" if isinstance(error, ThrottledError) else "refused"
                books.retrying(why, +1)
                delay = _delay(error, attempt, policy)
                try:
                    await anyio.sleep(delay)
                finally:
                    books.retrying(why, -1)
                continue
            await _record(job, upload, key, Status.FAILED, error=str(error))
            return Step(ItemResult(key, Outcome.FAILED, None, str(error), upload.line, upload))
    except anyio.get_cancelled_exc_class():
        if not on_the_wire:
            # Claimed but never sent: not ambiguous, a resumed job simply sends it.
            with anyio.CancelScope(shield=True):
                await job.journal.mark_failed(key, "cancelled before it was sent")
        raise
    finally:
        if on_slot is not None:
            on_slot()
    raise AssertionError("unreachable")  # pragma: no cover
