"""One store's share of a chain sync: its rows set aside, and its view of the journal.

A sync manifest may name many stores (``sunmi_shop_no``). Each store is listed and planned
on its own, so the manifest is read once first and each store's rows are set aside, in
order, in an unnamed temporary file (``RowSpill``): memory stays flat however long the
manifest. The stores share one sync journal; a store other than the client's has its keys
prefixed (``S2/key``, as enroll keys them), so the same key in two stores is two items.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator

from ._engine import _aiter_items
from ._sync_journal import InFlight, PictureRecord, SyncJournal
from .manifest import FaceUpload, ManifestError

__all__ = ["RowSpill", "StoreJournal", "split_by_store", "store_prefix"]

Entry = FaceUpload | ManifestError


def store_prefix(shop: str) -> str:
    """The journal key prefix of store ``shop`` (``""``: the client's own store)."""
    return f"{shop}/" if shop else ""


class RowSpill:
    """One store's rows, in order, in an unnamed temporary file (the job's own rows, so
    pickle is safe); read back once by ``__iter__``."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        self.count = 0

    def push(self, entry: Entry) -> None:
        data = pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL)
        self._file.write(len(data).to_bytes(4, "big") + data)
        self.count += 1

    def __iter__(self) -> Iterator[Entry]:
        self._file.flush()
        self._file.seek(0)
        for _ in range(self.count):
            size = int.from_bytes(self._file.read(4), "big")
            entry: Entry = pickle.loads(self._file.read(size))  # noqa: S301 (our own file)
            yield entry

    def close(self) -> None:
        self._file.close()


async def split_by_store(
    entries: Iterable[Entry] | AsyncIterable[Entry], own: str | None
) -> tuple[dict[str, RowSpill], int]:
    """The manifest's rows by store (``""``: the client's own, also for a row naming the
    client's store by number), in manifest order; and how many unreadable rows name no
    store (their store is unknown, so no store is pruned)."""
    spills: dict[str, RowSpill] = {}
    unplaced = 0
    source: AsyncIterator[Entry] = _aiter_items(entries, 32)
    try:
        async for entry in source:
            shop = entry.sunmi_shop_no or ""
            if shop == own:
                shop = ""
            if isinstance(entry, ManifestError) and not shop:
                unplaced += 1
            spill = spills.get(shop)
            if spill is None:
                spill = spills[shop] = RowSpill()
            spill.push(entry)
    except BaseException:
        for spill in spills.values():
            spill.close()
        raise
    return spills, unplaced


class StoreJournal:
    """The sync journal as one store sees it: its keys prefixed, its actions in flight only."""

    def __init__(self, journal: SyncJournal, prefix: str, others: Iterable[str] = ()) -> None:
        self.journal = journal
        self.prefix = prefix
        #: The other stores' prefixes (the client's own store has none to tell its keys by).
        self.others = tuple(p for p in others if p and p != prefix)

    def _mine(self, key: str) -> str | None:
        if self.prefix:
            return key[len(self.prefix) :] if key.startswith(self.prefix) else None
        return None if any(key.startswith(p) for p in self.others) else key

    def pictures_of(self, keys: Iterable[str]) -> dict[str, PictureRecord]:
        p = self.prefix
        found = self.journal.pictures_of([p + key for key in keys])
        return {key[len(p) :]: record for key, record in found.items()}

    def in_flight(self) -> list[InFlight]:
        out = []
        for row in self.journal.in_flight():
            key = self._mine(row.key)
            if key is not None:
                out.append(InFlight(key, row.action, row.face_id, row.group_id, row.sha256,
                                    row.updated_at))  # fmt: skip
        return out

    async def adopt(self, key: str, record: PictureRecord, *, replaced: bool = False) -> None:
        await self.journal.adopt(self.prefix + key, record, replaced=replaced)

    async def begin(
        self, key: str, action: str, face_id: str | None, group_id: str | None, sha: str | None
    ) -> None:
        await self.journal.begin(self.prefix + key, action, face_id, group_id, sha, self.prefix)

    async def uploaded(self, key: str, record: PictureRecord, *, finished: bool) -> None:
        await self.journal.uploaded(self.prefix + key, record, finished=finished)

    async def done(self, key: str, *, forget_face: str | None = None) -> None:
        await self.journal.done(self.prefix + key, forget_face=forget_face)

    async def old_deleted(self, face_id: str) -> None:
        await self.journal.old_deleted(face_id)

    async def ended(self, key: str, status: str, error: str) -> None:
        await self.journal.ended(self.prefix + key, status, error)
