"""Reconciliation: resolve uploads whose outcome is unknown by listing their group.

After the main pass, each group holding such uploads is listed once (after the uploads a
killed run may still have on the wire had time to land); an upload found by its external
key (in ``external_key_slot``) is done, one absent is sent again. Uploads still unknown go
to another round, and after the last one they are reported unknown.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Iterable
from typing import TYPE_CHECKING

import anyio

from ._results import ItemResult, Outcome
from ._send import Step, resend
from .export import export_faces
from .manifest import FaceUpload

if TYPE_CHECKING:
    from ._job import EnrollJob

__all__ = ["give_up", "reconcile"]


async def reconcile(
    job: EnrollJob, deferred: list[tuple[FaceUpload, str]], again: list[tuple[FaceUpload, str]]
) -> AsyncGenerator[ItemResult, None]:
    """List each group once, record what is found as done, send the rest again (unknown
    outcomes of the new sends go to ``again``)."""
    books, journal = job.books, job.journal
    by_group: dict[str, dict[str, FaceUpload]] = {}
    for upload, key in deferred:
        by_group.setdefault(upload.group_id, {})[key] = upload
    absent: list[tuple[FaceUpload, str]] = []
    books.set_phase(f"reconciling {len(deferred)}")
    for group_id, wanted in by_group.items():
        await _wait_for_uploads_in_flight(job, group_id, wanted, len(deferred))
        books.set_phase(f"reconciling {len(deferred)}: listing group {group_id}")
        try:
            keys = [upload.external_key or key for key, upload in wanted.items()]
            found = await _list_keys(job, group_id, keys)
        except Exception as exc:
            # Without the listing nothing is known: report the items, never send blindly.
            why = f"could not list group {group_id} to reconcile: {exc}"
            for key, upload in wanted.items():
                books.event("reconcile", key, detail="listing failed")
                await journal.mark_unknown(key, why)
                result = ItemResult(key, Outcome.UNKNOWN, None, why, upload.line, upload)
                yield books.finish(result)
            continue
        for key, upload in wanted.items():
            face_id = found.get(upload.external_key or key)
            books.event("reconcile", key, detail="found" if face_id else "absent, resending")
            if face_id is None:
                absent.append((upload, key))
                continue
            await journal.mark_done(key, face_id)
            yield books.finish(ItemResult(key, Outcome.DONE, face_id, None, upload.line, upload))
    books.set_phase(f"sending {len(absent)} again (absent from the group)" if absent else "")

    async def send_again(item: tuple[FaceUpload, str]) -> Step:
        return await resend(job, item)

    async with job.make_engine(absent, send_again) as steps:
        async for step in steps:
            if step.deferred is not None:
                again.append(step.deferred)
            elif step.result is not None:
                yield books.finish(step.result)
    books.set_phase("")


async def _wait_for_uploads_in_flight(
    job: EnrollJob, group_id: str, wanted: dict[str, FaceUpload], total: int
) -> None:
    """Let uploads a killed run still had on the wire land before the group is listed."""
    books = job.books
    deadlines = [job.not_before.pop(key) for key in wanted if key in job.not_before]
    wait = max(deadlines, default=0.0) - time.time()
    if wait > 0:
        books.event(
            "reconcile", None, detail=f"waiting {wait:.1f} s before listing group {group_id}"
        )
        books.set_phase(
            f"reconciling {total}: waiting {wait:.0f} s for uploads in flight to settle"
        )
        await anyio.sleep(wait)


async def _list_keys(job: EnrollJob, group_id: str, wanted: Iterable[str]) -> dict[str, str]:
    """The face_id of each wanted external key found in the group's slot."""
    slot = job.options.external_key_slot
    assert slot is not None
    wanted = set(wanted)
    found: dict[str, str] = {}
    async for face in export_faces(job.client, group_id):
        value = face.customer_value(slot)
        if value in wanted and value not in found:
            found[value] = face.face_id
    return found


async def give_up(job: EnrollJob, upload: FaceUpload, key: str) -> ItemResult:
    why = f"still unknown after {job.options.reconcile_rounds} reconciliation rounds"
    await job.journal.mark_unknown(key, why)
    return ItemResult(key, Outcome.UNKNOWN, None, why, upload.line, upload)
