"""Applying a sync plan: one item at a time under the engine's slots, journaled ahead.

Every write is recorded in flight in the sync journal before its request goes out, and
cleared once the server answered. A request the server surely did not apply (throttled,
refused before processing, never sent) is tried again with backoff; one whose outcome is
unknown is never blindly sent again: an add (or a replace's add) is reconciled after the
main pass by listing its group and looking for its key, the rest end UNKNOWN and the next
run re-plans them from the server. A replace adds the new face first and deletes the old
one only after, so the person is never missing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.to_thread
import attrs

from .. import RetryPolicy
from ..errors import APIError, ValidationError
from ._engine import BulkMap
from ._pictures import load_picture
from ._policy import check_upload, customer_values, signal_of, surely_not_applied
from ._results import BulkEvent, Outcome
from ._sync_compare import picture_record, stat_of
from ._sync_model import SyncAction, SyncItem, SyncReport
from ._sync_view import StoreJournal
from .export import export_faces
from .manifest import FaceUpload

__all__ = ["Applier", "check_adds", "prepare_add", "refused"]


class _Unknown(Exception):
    """The request may or may not have been applied."""


_ADDS = (SyncAction.ADD, SyncAction.REPLACE)


async def prepare_add(
    client: Any, upload: FaceUpload, slot: int
) -> tuple[bytes, str, list[str] | None, tuple[str, int, int] | None]:
    """The picture's bytes, sha256, the custom values and the file's stat for an add,
    after every check ``faces.add`` runs (``ValidationError``): a plan and an apply refuse
    the same rows with the same message."""
    stat = await anyio.to_thread.run_sync(stat_of, upload.pic)
    data, digest = await load_picture(upload.pic)
    values = customer_values(upload, slot)
    await check_upload(client, upload, data, values)
    return data, digest, values, stat


def refused(item: SyncItem, why: str) -> SyncItem:
    """``item`` as the invalid row it turned out to be."""
    return SyncItem(
        SyncAction.INVALID, item.key, item.group, item.line, item.face_id, error=why,
        outcome=Outcome.INVALID if item.outcome is not None else None,
        sunmi_shop_no=item.sunmi_shop_no,
    )  # fmt: skip


async def check_adds(client: Any, slot: int, items: list[SyncItem]) -> list[SyncItem]:
    """A plan's adds and replaces checked as the apply checks them (pictures read in worker
    threads, a few at a time): the refused ones become invalid items."""
    limiter = anyio.CapacityLimiter(16)
    out = list(items)

    async def check(n: int, upload: FaceUpload) -> None:
        async with limiter:
            try:
                await prepare_add(client, upload, slot)
            except ValidationError as exc:
                out[n] = refused(out[n], str(exc))

    async with anyio.create_task_group() as group:
        for n, item in enumerate(items):
            if item.action in _ADDS and item.upload is not None:
                group.start_soon(check, n, item.upload)
    return out


@attrs.define
class Applier:
    client: Any
    journal: StoreJournal
    slot: int
    prune: bool
    retry: RetryPolicy
    report: SyncReport
    settle: float
    on_event: Callable[[BulkEvent], None] | None = None
    engine: BulkMap[Any, Any] | None = None
    #: Adds whose outcome is unknown, with the picture's digest and when they were sent.
    unknown_adds: list[tuple[SyncItem, str, float]] = attrs.field(factory=list)

    # -- one request, tried while the server surely did not apply it --------------------------

    async def _send(self, kind: str, call: Callable[[], Awaitable[Any]]) -> Any:
        assert self.engine is not None
        policy = self.retry
        for attempt in range(1, policy.max_attempts + 1):
            async with self.engine.slot() as held:
                self.report.writes[kind] += 1
                try:
                    return await call()
                except Exception as exc:
                    held.signal = signal_of(exc)
                    error = exc
            if getattr(error, "outcome_unknown", False):
                raise _Unknown(str(error)) from error
            if not surely_not_applied(error) or attempt == policy.max_attempts:
                raise error
            hint = error.retry_after if isinstance(error, APIError) else None
            delay = min(float(hint), policy.max_retry_after) if hint else policy.backoff(attempt)
            await anyio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- the item -------------------------------------------------------------------------------

    async def apply(self, item: SyncItem) -> SyncItem | None:
        """Apply ``item``; it comes back with its one outcome, or None when it is an add
        whose outcome is unknown (kept for ``reconcile``)."""
        action = item.action
        if action is SyncAction.INVALID:
            return attrs.evolve(item, outcome=Outcome.INVALID)
        if action is SyncAction.UNCHANGED or (action is SyncAction.DUPLICATE and not self.prune):
            return attrs.evolve(item, outcome=Outcome.SKIPPED)
        slot = item.key if action not in (SyncAction.DELETE, SyncAction.DUPLICATE) else None
        journal_key = slot or f"delete:{item.face_id}"
        try:
            if action in (SyncAction.ADD, SyncAction.REPLACE):
                return await self._add(item)
            if action in (SyncAction.DELETE, SyncAction.DUPLICATE):
                # The old face of a replace stays a duty in flight until it is gone.
                old = "replaced" in item.changes
                kind = "delete_old" if old else "delete"
                await self.journal.begin(journal_key, kind, item.face_id, item.group, None)
                await self._delete(item.group, item.face_id)
                if old and item.face_id is not None:
                    await self.journal.old_deleted(item.face_id)
                await self.journal.done(journal_key)
                return attrs.evolve(item, outcome=Outcome.DONE)
            await self.journal.begin(journal_key, action.value, item.face_id, item.group, None)
            if action is SyncAction.MOVE:
                await self._send(
                    "move",
                    lambda: self.client.groups.move_faces(
                        item.source_group, item.group, [item.face_id]
                    ),
                )
            if item.changes:
                await self._update(item)
            await self.journal.done(journal_key)
            return attrs.evolve(item, outcome=Outcome.DONE)
        except _Unknown as exc:
            await self.journal.ended(journal_key, "unknown", str(exc))
            return attrs.evolve(item, outcome=Outcome.UNKNOWN, error=str(exc))
        except (APIError, ValidationError, OSError, Exception) as exc:
            if isinstance(exc, anyio.get_cancelled_exc_class()):
                raise
            await self.journal.ended(journal_key, "failed", str(exc))
            return attrs.evolve(item, outcome=Outcome.FAILED, error=str(exc))

    async def _delete(self, group: str | None, face_id: str | None) -> None:
        await self._send("delete", lambda: self.client.faces.delete(group, [face_id]))

    async def _update(self, item: SyncItem) -> None:
        upload = item.upload
        assert upload is not None
        values = customer_values(upload, self.slot) or []
        await self._send(
            "update",
            lambda: self.client.faces.update(
                item.group,
                item.face_id,
                name=upload.name,
                gender=upload.gender,
                age_range=upload.age_range,
                customer_values=[v or None for v in values] or None,
            ),
        )

    async def _add(self, item: SyncItem) -> SyncItem | None:
        """An add, or a replace: the new face first, then the old one deleted."""
        upload = item.upload
        assert upload is not None
        replace = item.action is SyncAction.REPLACE
        try:
            data, digest, values, stat = await prepare_add(self.client, upload, self.slot)
        except ValidationError as exc:
            # Counted as the plan counts it: an invalid row, not an add.
            self.report.counts[item.action.value] -= 1
            self.report.invalid += 1
            return refused(attrs.evolve(item, outcome=Outcome.INVALID), str(exc))
        action = "replace" if replace else "add"
        await self.journal.begin(item.key, action, item.face_id, item.group, digest)
        sent_at = anyio.current_time()
        try:
            face_id = await self._send(
                "add",
                lambda: self.client.faces.add(
                    item.group,
                    pic=data,
                    name=upload.name,
                    gender=upload.gender,
                    age_range=upload.age_range,
                    customer_values=values,
                ),
            )
        except _Unknown as exc:
            await self.journal.ended(item.key, "unknown", str(exc))
            self.unknown_adds.append((attrs.evolve(item, error=str(exc)), digest, sent_at))
            return None
        if replace and face_id == item.face_id:
            # Deleting "the old face" would delete the only face the key has.
            why = (
                f"the server answered the add with the old face's id {face_id}:"
                " it is kept, not deleted"
            )
            await self.journal.ended(item.key, "failed", why)
            return attrs.evolve(item, outcome=Outcome.FAILED, error=why)
        record = picture_record(face_id, str(item.group), digest, stat)
        await self.journal.uploaded(item.key, record, finished=not replace)
        return await self._after_add(attrs.evolve(item, new_face_id=face_id))

    async def _after_add(self, item: SyncItem) -> SyncItem:
        """The add of ``item`` landed: a replace now deletes the old face."""
        if item.action is not SyncAction.REPLACE:
            return attrs.evolve(item, outcome=Outcome.DONE)
        try:
            await self._delete(item.source_group, item.face_id)
        except Exception as exc:
            if isinstance(exc, anyio.get_cancelled_exc_class()):
                raise
            # Still in flight in the journal: the next run deletes the old face.
            why = f"the new face {item.new_face_id} is in place; deleting the old one: {exc}"
            await self.journal.ended(item.key, "unknown", why)
            outcome = Outcome.UNKNOWN if isinstance(exc, _Unknown) else Outcome.FAILED
            return attrs.evolve(item, outcome=outcome, error=why)
        await self.journal.done(item.key)
        return attrs.evolve(item, outcome=Outcome.DONE)

    # -- reconciliation of adds whose outcome is unknown --------------------------------------

    def give_up(self) -> list[SyncItem]:
        """The adds still unknown after the last round."""
        pending, self.unknown_adds = self.unknown_adds, []
        return [attrs.evolve(item, outcome=Outcome.UNKNOWN) for item, _, _ in pending]

    async def reconcile(self) -> list[SyncItem]:
        """List the groups of the unknown adds (once their requests had time to land): an
        add found by its key is done (a replace then deletes its old face), one absent is
        sent again. Returns the items with their final outcome."""
        pending, self.unknown_adds = self.unknown_adds, []
        if not pending:
            return []
        wait = max(sent for _, _, sent in pending) + self.settle - anyio.current_time()
        if wait > 0:
            if self.on_event is not None:
                said = f"{len(pending)} add(s) with an unknown outcome: waiting {wait:.0f} s"
                self.on_event(BulkEvent("sync", detail=f"{said} before looking them up"))
            await anyio.sleep(wait)
        found: dict[str, str] = {}
        wanted = {item.key: item for item, _, _ in pending}
        for group in sorted({str(item.group) for item, _, _ in pending}):
            async for face in export_faces(self.client, group):
                key = face.customer_value(self.slot)
                item = wanted.get(key)
                if item is not None and face.face_id != item.face_id and key not in found:
                    found[key] = face.face_id
        out: list[SyncItem] = []
        for item, digest, _ in pending:
            face_id = found.get(item.key)
            if face_id is None:
                again = await self._add(attrs.evolve(item, outcome=None, error=None))
                if again is not None:
                    out.append(again)
                continue
            stat = await anyio.to_thread.run_sync(stat_of, item.upload.pic if item.upload else None)
            record = picture_record(face_id, str(item.group), digest, stat)
            await self.journal.uploaded(
                item.key, record, finished=item.action is not SyncAction.REPLACE
            )
            out.append(await self._after_add(attrs.evolve(item, new_face_id=face_id, error=None)))
        return out
