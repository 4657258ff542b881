"""Sending one upload: ``faces.add`` under an engine slot, tried again while the server
surely did not apply it, the journal told each outcome.

An error whose outcome is unknown is never retried here: the upload is kept for
reconciliation (with an external key slot) or ends UNKNOWN. A cancel before the request
went out marks the item failed (a resumed job simply sends it); one after leaves it in
flight, for the next run to reconcile.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import anyio
import attrs

from .. import RetryPolicy
from ..errors import APIError, ThrottledError, ValidationError
from ._journal_file import JournalError
from ._pictures import load_picture
from ._policy import customer_values, signal_of, surely_not_applied
from ._results import ItemResult, Outcome
from .manifest import FaceUpload

if TYPE_CHECKING:
    from ._job import EnrollJob

__all__ = ["Step", "resend", "send", "unknown"]


@attrs.define
class Step:
    """One worker call's end: a result, or an upload left for reconciliation."""

    result: ItemResult | None = None
    deferred: tuple[FaceUpload, str] | None = None


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


@contextlib.contextmanager
def _answered(upload: FaceUpload, key: str, face_id: str | None) -> Iterator[None]:
    """Keep what the server answered when the journal cannot record it, for the report."""
    try:
        yield
    except JournalError as exc:
        pic = upload.pic
        named = str(pic) if isinstance(pic, (str, os.PathLike)) else key
        exc.unrecorded[key] = (named, face_id)
        raise


def _delay(error: Exception, attempt: int, policy: RetryPolicy) -> float:
    """The wait before try ``attempt + 1``: the server's hint wins, else the policy's backoff."""
    hint = error.retry_after if isinstance(error, APIError) else None
    if hint is not None and hint > 0:
        return min(float(hint), policy.max_retry_after)
    return policy.backoff(attempt)


async def send(
    job: EnrollJob, upload: FaceUpload, key: str, data: bytes, values: list[str] | None
) -> Step:
    """Send ``upload`` (already claimed in the journal) and record how it ended."""
    journal, books, policy = job.journal, job.books, job.retry
    on_the_wire = False
    try:
        for attempt in range(1, policy.max_attempts + 1):
            on_the_wire = False
            error: Exception | None = None
            await anyio.lowlevel.checkpoint()  # a pending cancel lands before sending
            async with job.engine.slot() as slot:
                on_the_wire = True
                books.report.sent += 1
                try:
                    face_id = await job.client.faces.add(
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
                with _answered(upload, key, face_id):
                    await journal.mark_done(key, face_id)
                return Step(ItemResult(key, Outcome.DONE, face_id, None, upload.line, upload))
            if getattr(error, "outcome_unknown", False):
                await journal.mark_unknown(key, str(error))
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
            with _answered(upload, key, None):
                await journal.mark_failed(key, str(error))
            return Step(ItemResult(key, Outcome.FAILED, None, str(error), upload.line, upload))
    except anyio.get_cancelled_exc_class():
        if not on_the_wire:
            # Claimed but never sent: not ambiguous, a resumed job simply sends it.
            with anyio.CancelScope(shield=True):
                await journal.mark_failed(key, "cancelled before it was sent")
        raise
    raise AssertionError("unreachable")  # pragma: no cover
