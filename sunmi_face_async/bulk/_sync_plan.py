"""Planning a sync: the manifest against the store's faces, key by key.

The store is listed first (``_sync_store``); what an earlier, killed run left in flight is
settled against that listing (an add that landed is found by its key and adopted, so it is
never sent twice); then the manifest streams through, a chunk at a time, and each row
becomes one ``SyncItem``: add, update, move, replace or unchanged, plus a duplicate item per
extra face carrying the same key. Faces of the target groups whose key the manifest does
not hold come last: deletes, with ``prune`` only.

A column the manifest leaves empty is not managed: the server's value stays as it is (the
API documents no way to clear a field). A picture is compared only when the journal
recorded the one sync uploaded for that face: the file is hashed again only if its size or
mtime changed.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable, Iterable
from typing import Any

import anyio.to_thread
import attrs

from ..errors import ValidationError
from ._engine import _aiter_items
from ._policy import customer_values, in_shard
from ._results import BulkEvent
from ._sync_compare import differences, picture_changed, picture_record
from ._sync_journal import InFlight, PictureRecord
from ._sync_model import SyncAction, SyncItem
from ._sync_store import ServerFace, StoreIndex
from ._sync_view import StoreJournal
from .manifest import FaceUpload, ManifestError

__all__ = ["Planner"]

Entry = FaceUpload | ManifestError
_CHUNK = 256


@attrs.define
class Planner:
    """Plans one sync run (see the module docstring)."""

    index: StoreIndex
    journal: StoreJournal
    slot: int
    shard: tuple[int, int] | None
    targets: set[str]
    prune: bool
    replace_pictures: bool
    on_event: Any = None
    #: The store's group ids by name, and the client's store (rows may name either).
    names: dict[str, str] = attrs.field(factory=dict)
    store: str | None = None
    #: How messages name the store ("this store", or "store 'S2'" in a chain).
    where: str = "this store"
    #: A plan only: nothing is written, not even to the journal.
    dry: bool = False
    #: Checks a chunk's adds and replaces as the apply will (a plan only: the apply checks
    #: each one before it sends it).
    check: Callable[[list[SyncItem]], Awaitable[list[SyncItem]]] | None = None
    #: Adds found landed, recorded in memory when ``dry``: key -> record.
    adopted: dict[str, PictureRecord] = attrs.field(factory=dict)
    #: Keys of the manifest seen so far (a repeated key is invalid), with their line.
    seen: dict[str, int | None] = attrs.field(factory=dict)
    #: Old faces a replace killed after its add must still delete: face_id -> key.
    old_faces: dict[str, str] = attrs.field(factory=dict)
    #: Keys whose new face a killed replace already added: key -> face_id.
    added: dict[str, str] = attrs.field(factory=dict)
    not_ours: int = 0
    #: Manifest entries read (every shard's, invalid ones too).
    rows: int = 0
    #: Manifest rows that could not be read or carry no key: their keys are unknown, so
    #: nothing is pruned.
    unreadable: int = 0
    #: Keys an invalid row names: never pruned (a valid row of the key is still planned).
    held: set[str] = attrs.field(factory=set)

    # -- what an earlier run left in flight ---------------------------------------------------

    async def settle_in_flight(self, left: list[InFlight]) -> None:
        """Adopt the adds that landed (found by key); keep what a replace still must delete."""
        listed: set[str] | None = None
        for row in left:
            if row.action == "delete_old" and row.face_id is not None:
                if listed is None:
                    listed = self.index.face_ids()
                if row.face_id in listed:
                    self.old_faces[row.face_id] = row.key
                elif not self.dry:
                    await self.journal.old_deleted(row.face_id)  # its delete landed
                continue
            if row.action not in ("add", "replace") or row.sha256 is None:
                continue
            faces = self.index.by_key.get(row.key, [])
            landed = [f for f in faces if f.face_id != row.face_id]
            if not landed:
                continue  # never landed: planned afresh
            new = landed[0]
            record = picture_record(new.face_id, new.group_id, row.sha256, None)
            if self.dry:
                self.adopted[row.key] = record
            else:
                await self.journal.adopt(row.key, record, replaced=row.action == "replace")
            self._event(row.key, f"an earlier run's {row.action} landed as face {new.face_id}")
            if row.action == "replace" and row.face_id is not None:
                self.old_faces[row.face_id] = row.key

    def _event(self, key: str | None, detail: str) -> None:
        if self.on_event is not None:
            self.on_event(BulkEvent("sync", key=key, detail=detail))

    # -- the manifest ---------------------------------------------------------------------------

    async def plan(
        self, entries: Iterable[Entry] | AsyncIterable[Entry]
    ) -> AsyncGenerator[SyncItem]:
        chunk: list[Entry] = []
        async for entry in _aiter_items(entries, 32):
            chunk.append(entry)
            if len(chunk) >= _CHUNK:
                for item in await self._chunk(chunk):
                    yield item
                chunk = []
        if chunk:
            for item in await self._chunk(chunk):
                yield item
        for item in self._leftovers():
            yield item

    async def _chunk(self, chunk: list[Entry]) -> list[SyncItem]:
        rows: list[tuple[FaceUpload, str, list[str] | None]] = []
        items: list[SyncItem] = []
        for entry in chunk:
            taken = self._take(entry, items)
            if taken is not None:
                rows.append(taken)
        keys = [key for _, key, _ in rows if key in self.index.by_key]
        records = await anyio.to_thread.run_sync(self.journal.pictures_of, keys) if keys else {}
        records.update((k, self.adopted[k]) for k in keys if k in self.adopted)
        decided = [self._decide(upload, key, records.get(key)) for upload, key, _ in rows]
        checks = [(n, record) for n, (_, record, _) in enumerate(decided) if record is not None]
        if checks:
            verdicts: list[bool | str | None] = await anyio.to_thread.run_sync(
                lambda: [picture_changed(rows[n][0].pic, record) for n, record in checks]
            )
            for (n, _), verdict in zip(checks, verdicts, strict=True):
                decided[n] = (decided[n][0], None, verdict)
        for (upload, key, values), (faces, _, verdict) in zip(rows, decided, strict=True):
            items.extend(self._items(upload, key, values, faces, verdict))
        # In manifest order (the invalid rows were set aside first).
        items.sort(key=lambda item: (item.line is None, item.line or 0))
        return items if self.check is None else await self.check(items)

    def _take(
        self, entry: Entry, items: list[SyncItem]
    ) -> tuple[FaceUpload, str, list[str] | None] | None:
        """The row, its key and custom values if it is this run's; else None (an invalid
        row goes to ``items``)."""
        self.rows += 1
        if isinstance(entry, ManifestError):
            self.unreadable += 1
            items.append(
                SyncItem(
                    SyncAction.INVALID, f"line:{entry.line}", None, entry.line, error=str(entry)
                )
            )
            return None
        key = entry.external_key
        if not key:
            self.unreadable += 1  # the face it means is unknown, as for an unreadable row
            why = "external_key is missing: sync matches faces by it"
            items.append(
                SyncItem(
                    SyncAction.INVALID, f"line:{entry.line}", entry.group_id, entry.line, error=why
                )
            )
            return None
        if key != key.strip():
            # Surely a typo for the bare key: planned as is, it would add a second face and
            # prune the one the manifest means. Both spellings are held from prune.
            for spelling in (key, key.strip()):
                self.held.add(spelling)
            why = f"external_key {key!r} has leading or trailing whitespace"
            items.append(SyncItem(SyncAction.INVALID, key, entry.group_id, entry.line, error=why))
            return None
        placed = self._placed(entry)
        if isinstance(placed, str):
            self.held.add(key)  # named by the manifest: never pruned
            items.append(
                SyncItem(SyncAction.INVALID, key, entry.group_id, entry.line, error=placed)
            )
            return None
        entry = placed
        if entry.group_id in self.index.groups:
            # A target group, for every shard: prune covers it even if no row here is ours.
            self.targets.add(entry.group_id)
        if not in_shard(key, self.shard):
            self.not_ours += 1
            return None
        if key in self.seen:
            first = self.seen[key]
            why = (
                f"external_key {key!r} repeats line {first}"
                if first
                else f"external_key {key!r} repeats"
            )
            items.append(SyncItem(SyncAction.INVALID, key, entry.group_id, entry.line, error=why))
            return None
        self.seen[key] = entry.line
        if entry.group_id not in self.index.groups:
            self.held.add(key)  # named by the manifest: never pruned
            why = f"group_id {entry.group_id!r} is not a group of {self.where}"
            items.append(SyncItem(SyncAction.INVALID, key, entry.group_id, entry.line, error=why))
            return None
        try:
            values = customer_values(entry, self.slot)
        except ValidationError as exc:
            self.held.add(key)
            items.append(
                SyncItem(SyncAction.INVALID, key, entry.group_id, entry.line, error=str(exc))
            )
            return None
        return entry, key, values

    def _placed(self, entry: FaceUpload) -> FaceUpload | str:
        """The row with its group's id (a ``group`` name looked up in this store), or why it
        cannot be placed (each store is planned on its own: a row of another is a bug)."""
        shop = entry.sunmi_shop_no
        if shop and shop != self.store:
            return f"sunmi_shop_no {shop!r} is not the store planned ({self.store})"
        if entry.group_id or not entry.group:
            return entry
        found = self.names.get(entry.group)
        if found is None:
            return f"group {entry.group!r}: no group of {self.where} has that name"
        return attrs.evolve(entry, group_id=found)

    def _decide(
        self, upload: FaceUpload, key: str, record: PictureRecord | None
    ) -> tuple[list[ServerFace], PictureRecord | None, bool | str | None]:
        """The key's faces (keeper first), the record to compare the picture with (in a
        worker thread), or the verdict already known."""
        faces = self.index.by_key.pop(key, [])
        if not faces:
            return faces, None, None
        recorded = record.face_id if record is not None else None
        old = self.old_faces
        # Keep the face sync uploaded, else one in the target group, else the first listed;
        # the old face of a replace only if nothing else is left.
        faces.sort(
            key=lambda f: (f.face_id in old, f.face_id != recorded, f.group_id != upload.group_id)
        )
        keeper = faces[0]
        if keeper.face_id in old:
            return faces, None, None
        if record is not None and record.face_id == keeper.face_id:
            return faces, record, None
        # No record of the picture this face holds: unchanged unless told to replace.
        return faces, None, self.replace_pictures

    def _items(
        self,
        upload: FaceUpload,
        key: str,
        values: list[str] | None,
        faces: list[ServerFace],
        verdict: bool | str | None,
    ) -> list[SyncItem]:
        group, line = upload.group_id, upload.line
        if not faces:
            return [SyncItem(SyncAction.ADD, key, group, line, upload=upload)]
        keeper, extras = faces[0], faces[1:]
        out: list[SyncItem] = []
        if isinstance(verdict, str):
            out.append(
                SyncItem(SyncAction.INVALID, key, group, line, keeper.face_id, error=verdict)
            )
        elif verdict or keeper.face_id in self.old_faces:
            # A changed picture, or only the old face of a replace left (its add must be
            # made again): the new face first, then the old one goes.
            out.append(
                SyncItem(
                    SyncAction.REPLACE,
                    key,
                    group,
                    line,
                    keeper.face_id,
                    keeper.group_id,
                    ("picture",),
                    upload,
                )
            )
        else:
            changed = tuple(differences(upload, values, keeper))
            if keeper.group_id != group:
                out.append(
                    SyncItem(
                        SyncAction.MOVE,
                        key,
                        group,
                        line,
                        keeper.face_id,
                        keeper.group_id,
                        changed,
                        upload,
                    )
                )
            elif changed:
                out.append(
                    SyncItem(
                        SyncAction.UPDATE, key, group, line, keeper.face_id, None, changed, upload
                    )
                )
            else:
                out.append(SyncItem(SyncAction.UNCHANGED, key, group, line, keeper.face_id))
        for extra in extras:
            if extra.face_id in self.old_faces:
                # A killed replace added the new face: its old one goes, prune or not.
                self.old_faces.pop(extra.face_id)
                out.append(
                    SyncItem(
                        SyncAction.DELETE,
                        key,
                        extra.group_id,
                        line,
                        extra.face_id,
                        changes=("replaced",),
                    )
                )
            else:
                out.append(SyncItem(SyncAction.DUPLICATE, key, extra.group_id, line, extra.face_id))
        return out

    def _leftovers(self) -> list[SyncItem]:
        """Faces of the target groups the manifest does not name: deletes with ``prune``;
        without it, only the extra faces sharing a key are reported."""
        out: list[SyncItem] = []
        rows = self.rows
        prune = self.prune and not self.unreadable and rows > 0
        if self.prune and self.unreadable:
            said = f"{self.unreadable} manifest row(s) could not be read or carry no external_key"
            self._event(None, f"not pruning: {said}")
        elif self.prune and not rows:
            # A header-only file, or the export of a wrong store, says nothing of the groups.
            why = "the manifest holds no row (prune would empty the target groups)"
            self._event(None, f"not pruning: {why}")
        for key, faces in self.index.by_key.items():
            if key in self.held or not in_shard(key, self.shard):
                continue
            mine = [f for f in faces if f.group_id in self.targets]
            for n, face in enumerate(mine):
                if face.face_id in self.old_faces:
                    out.append(
                        SyncItem(
                            SyncAction.DELETE,
                            key,
                            face.group_id,
                            None,
                            face.face_id,
                            changes=("replaced",),
                        )
                    )
                elif prune:
                    out.append(SyncItem(SyncAction.DELETE, key, face.group_id, None, face.face_id))
                elif n > 0:
                    out.append(
                        SyncItem(SyncAction.DUPLICATE, key, face.group_id, None, face.face_id)
                    )
        if prune:
            for face in self.index.keyless:
                label = f"face:{face.face_id}"
                if face.group_id in self.targets and in_shard(label, self.shard):
                    out.append(
                        SyncItem(SyncAction.DELETE, label, face.group_id, None, face.face_id)
                    )
        return out
