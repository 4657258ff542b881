"""The confirmation phase of ``enroll(..., confirm=...)``: accepted is not enrolled.

The platform answers ``/face/add`` with a face_id once it has *accepted* the picture and
makes the face afterwards, so it can still refuse it. With ``confirm`` set, the items the
platform accepted (in this run or an earlier one) are held back during the upload passes and
end here, read from the journal in chunks (memory stays flat):

- ``"listing"``: once ``confirm_wait`` seconds have passed since the last acceptance, each
  target group is listed once; an accepted face found there ends DONE (SKIPPED when an
  earlier run sent it), one absent ends REJECTED ("accepted, then not in the group").
- ``"push"``: the job waits up to ``confirm_wait`` seconds for every accepted item's word in
  the journal's confirmations table (written by ``record_confirmation``, e.g. from
  ``webhook.callback_app``): code 0 ends it DONE, another code REJECTED with the reason;
  items without one end UNCONFIRMED (still DONE in the journal: a resumed job confirms them).
"""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncGenerator, Callable
from typing import TYPE_CHECKING, Any

import anyio

from ._client import BulkClient
from ._confirm_store import (
    ConfirmRow,
    chunk,
    newest_acceptance,
    settle_rows,
    target_groups,
    waiting,
)
from ._results import BulkEvent, ItemResult, Outcome
from .export import export_faces
from .manifest import FaceUpload

if TYPE_CHECKING:
    from ._job import EnrollJob

__all__ = ["NOT_LISTED", "confirm", "held", "list_group"]

#: The reason of an accepted item the listing did not find in its group.
NOT_LISTED = "accepted, then not in the group"
_CHUNK = 500
_POLL = 0.2
_HELD = frozenset({Outcome.DONE, Outcome.SKIPPED})

Verdict = tuple[Outcome, str | None]


def _chunk(conn: Any, *, run_id: str, after: int) -> list[ConfirmRow]:
    return chunk(conn, run_id, after, _CHUNK)


def held(result: ItemResult) -> bool:
    """Whether a result waits for the confirmation (an accepted item) instead of ending."""
    return result.outcome in _HELD


async def confirm(job: EnrollJob) -> AsyncGenerator[ItemResult, None]:
    """Confirm every item of this run the journal holds as accepted; one result each."""
    journal, options = job.journal, job.options
    run_id = journal.run_id
    job.books.hold = None  # from here on, results end as they come
    submit = journal._submit  # the journal's write queue: one connection, batched
    if options.confirm == "listing":
        judge = await _listing(job, run_id)
    else:
        judge = await _pushes(job, run_id)
    after = 0
    while True:
        rows: list[ConfirmRow] = await submit(functools.partial(_chunk, run_id=run_id, after=after))
        if not rows:
            break
        after = rows[-1][0]
        results: list[ItemResult] = []
        rejected: list[tuple[str, str]] = []
        listed: list[tuple[str, int, str]] = []
        for row in rows:
            _, key, group_id, face_id, line, picture, name, external_key, updated = row[:9]
            outcome, why = judge(row)
            upload = FaceUpload(
                group_id, picture or b"", name=name, external_key=external_key, line=line
            )
            if outcome is Outcome.DONE:
                job.report.confirmed += 1
                if updated < job.started_at:
                    outcome = Outcome.SKIPPED
            elif outcome is Outcome.REJECTED:
                rejected.append((key, why or ""))
            if options.confirm == "listing" and outcome is not Outcome.UNCONFIRMED:
                code = 0 if outcome is not Outcome.REJECTED else -1
                listed.append((face_id, code, why or "listed in the group"))
            results.append(ItemResult(key, outcome, face_id, why, line, upload))
        await submit(functools.partial(settle_rows, rejected=rejected, listed=listed))
        for result in results:
            yield job.books.finish(result)
    job.books.set_phase("")


async def _listing(job: EnrollJob, run_id: str) -> Callable[[ConfirmRow], Verdict]:
    """Wait, list each target group once, and judge each item by what was listed."""
    books, submit = job.books, job.journal._submit
    newest: float | None = await submit(lambda c: newest_acceptance(c, run_id))
    limit = job.options.confirm_wait
    # Never more than confirm_wait: the times are another run's wall clock (it may be ahead).
    wait = 0.0 if newest is None else min(limit, newest + limit - time.time())
    if wait > 0:
        books.set_phase(f"confirming: waiting {wait:.0f} s for the platform to process")
        await anyio.sleep(wait)
    groups: list[str] = await submit(lambda c: target_groups(c, run_id))
    present: dict[str, set[str]] = {}
    failed: dict[str, str] = {}
    short: dict[str, str] = {}
    for group_id in groups:
        books.set_phase(f"confirming: listing group {group_id}")
        try:
            present[group_id], shortfall = await list_group(job.client, group_id)
        except Exception as exc:
            # Without the listing nothing is known of its items: unconfirmed, never done.
            failed[group_id] = f"could not list group {group_id} to confirm: {exc}"
        else:
            if shortfall:
                short[group_id] = f"the listing of group {group_id} was incomplete: {shortfall}"
        books.event("confirm", group_id, detail=f"listed group {group_id}")

    def judge(row: ConfirmRow) -> Verdict:
        group_id, face_id = row[2], row[3]
        if group_id in failed:
            return Outcome.UNCONFIRMED, failed[group_id]
        if face_id in present[group_id]:
            return Outcome.DONE, None
        if group_id in short:
            # A listing short of the server's own count proves nothing of what it left out.
            return Outcome.UNCONFIRMED, short[group_id]
        return Outcome.REJECTED, NOT_LISTED

    return judge


async def list_group(client: BulkClient, group_id: str) -> tuple[set[str], str]:
    """The face_ids listed in ``group_id`` (ids only: memory stays small for a big group),
    and what the server's own count says is missing from them ("" when nothing)."""
    short: list[str] = []

    def on_event(event: BulkEvent) -> None:
        if event.kind == "shortfall":
            short.append(event.detail)

    ids = {face.face_id async for face in export_faces(client, group_id, on_event=on_event)}
    return ids, "; ".join(short)


async def _pushes(job: EnrollJob, run_id: str) -> Callable[[ConfirmRow], Verdict]:
    """Wait up to ``confirm_wait`` for every item's word, then judge by what came."""
    books, submit = job.books, job.journal._submit
    limit = job.options.confirm_wait
    deadline = anyio.current_time() + limit
    while True:
        left: int = await submit(lambda c: waiting(c, run_id))
        now = anyio.current_time()
        if not left or now >= deadline:
            break
        books.set_phase(f"confirming: waiting for {left} push(es), {deadline - now:.0f} s left")
        await anyio.sleep(min(_POLL, deadline - now))

    def judge(row: ConfirmRow) -> Verdict:
        code, reason = row[9], row[10]
        if code is None:
            return Outcome.UNCONFIRMED, f"no confirmation came within confirm_wait ({limit:g} s)"
        if code == 0:
            return Outcome.DONE, None
        return Outcome.REJECTED, f"rejected by the platform (code {code}): {reason}"

    return judge
