"""Many stores in one enrollment: each row's store and group resolved, each store a fair lane.

A manifest row may name its store (``sunmi_shop_no``) and its group by name (``group``).
``Stores`` gives the job:

- ``client``: a client that sends each call to the store of the group it names, through the
  base client's ``with_shop`` clients (they share its connections);
- ``resolve(entry)``, called by the worker of each item: its group id looked up by name in
  its store (each store's groups listed once and cached); an unknown name is one
  ``ManifestError`` naming file, line, column and store;
- ``entries(uploads)``: the uploads, in a fair order when ``per_store_concurrency`` is set:
  at most that many items of one store are in the job at once, and items of the other
  stores go ahead of a store that is full, so one slow or failing store cannot take every
  worker. Items of a full store wait in a bounded buffer; beyond it, in a temporary file
  (``_Spill``), so a manifest written store after store (as an export writes it) is still
  read on to the other stores while memory stays flat. Only an item whose picture is held
  in memory (bytes) makes reading wait for room instead.
"""

from __future__ import annotations

import collections
import hashlib
import os
import pickle
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any, cast

import anyio
import attrs

from ._client import BulkClient, BulkFaces, BulkGroups
from ._engine import _aiter_items
from ._policy import item_key
from .manifest import FaceUpload, ManifestError

__all__ = ["Stores", "store_of"]

Entry = FaceUpload | ManifestError


def _placeholder(shop: str, group: str) -> str:
    """The id a dry run checks a row named by group with: 20 digits (as long as any 64-bit
    id), one per store and name, so the same picture in two stores is not a duplicate."""
    digest = hashlib.sha256(f"{shop}\0{group}".encode()).digest()
    return f"{int.from_bytes(digest[:9], 'big') % 10**20:020d}"


#: Items of one full store held back while the others go ahead.
_BUFFER_PER_STORE = 256


class _Spill:
    """One store's items beyond its buffer, in order, in an unnamed temporary file (the
    job's own items, so pickle is safe; emptied, the file is cut back to nothing)."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        self._read = self._write = 0
        self.count = 0

    @staticmethod
    def takes(entry: FaceUpload) -> bool:
        return isinstance(entry.pic, str | os.PathLike)

    def push(self, entry: FaceUpload) -> None:
        data = pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL)
        self._file.seek(self._write)
        self._file.write(len(data).to_bytes(4, "big") + data)
        self._write = self._file.tell()
        self.count += 1

    def pop(self) -> FaceUpload:
        self._file.seek(self._read)
        size = int.from_bytes(self._file.read(4), "big")
        entry: FaceUpload = pickle.loads(self._file.read(size))  # noqa: S301 (our own file)
        self._read = self._file.tell()
        self.count -= 1
        if not self.count:
            self._file.seek(0)
            self._file.truncate()
            self._read = self._write = 0
        return entry

    def close(self) -> None:
        self._file.close()


def store_of(entry: object) -> str:
    """The store an item goes to ("" for the client's own)."""
    return getattr(entry, "sunmi_shop_no", None) or ""


class _Routed:
    """``client.faces`` or ``client.groups``, each call sent to the store of its group."""

    def __init__(self, client: _RoutedClient, attr: str) -> None:
        self._client = client
        self._attr = attr

    def __getattr__(self, name: str) -> Any:
        base = getattr(self._client.base, self._attr)
        getattr(base, name)  # AttributeError if the base client has no such call

        def call(*args: Any, **kwargs: Any) -> Any:
            group_id = args[0] if args else kwargs.get("group_id", kwargs.get("source_group_id"))
            target = getattr(self._client.client_for(group_id), self._attr)
            return getattr(target, name)(*args, **kwargs)

        return call


class _RoutedClient:
    """A ``BulkClient`` over many stores: the base client's settings, calls routed by group.

    ``with_options`` (when the base client has it) gives the same routing over the base's
    variant, so a job's single-try uploader routes too.
    """

    def __init__(self, stores: Stores, base: Any) -> None:
        self._stores = stores
        self.base = base
        self._clients: dict[str, Any] = {}
        self._faces = _Routed(self, "faces")
        self._groups = _Routed(self, "groups")

    def shop_client(self, shop: str) -> Any:
        """This client's variant for store ``shop`` (itself for its own store)."""
        if not shop or shop == _own_shop(self.base):
            return self.base
        client = self._clients.get(shop)
        if client is None:
            with_shop = getattr(self.base, "with_shop", None)
            if with_shop is None:
                raise ValueError("this client cannot address other stores (no with_shop)")
            client = self._clients[shop] = with_shop(sunmi_shop_no=shop)
        return client

    def client_for(self, group_id: object) -> Any:
        shop = self._stores.store_of_group(group_id)
        return self.base if shop is None else self.shop_client(shop)

    @property
    def faces(self) -> BulkFaces:
        return cast(BulkFaces, self._faces)

    @property
    def groups(self) -> BulkGroups:
        return cast(BulkGroups, self._groups)

    def __getattr__(self, name: str) -> Any:
        # timeout, shop, base_url, ...: what the job reads of its client.
        if name.startswith("__"):
            raise AttributeError(name)
        found = getattr(self.base, name)
        if name != "with_options":
            return found

        def with_options(**options: Any) -> _RoutedClient:
            return _RoutedClient(self._stores, found(**options))

        return with_options


def _own_shop(client: Any) -> str | None:
    shop = getattr(client, "shop", None)
    return shop.get("sunmi_shop_no") if isinstance(shop, dict) else None


@attrs.define
class _Lookup:
    """One store's groups by name, or why they could not be listed."""

    by_name: dict[str, list[str]] = attrs.field(factory=dict)
    error: str | None = None


class Stores:
    """The stores of one job (see the module docstring)."""

    def __init__(
        self, base: BulkClient, per_store_concurrency: int | None = None, *, look_up: bool = True
    ) -> None:
        #: False for a dry run: nothing may be sent, so group names are not looked up and
        #: a row named by group gets a placeholder id of 20 digits (its body is sized for
        #: it, never lighter than the real run's).
        self.look_up = look_up
        self._routed_base = _RoutedClient(self, base)
        self.client: BulkClient = cast(BulkClient, self._routed_base)
        self.per_store = per_store_concurrency
        self._lookups: dict[str, _Lookup] = {}
        #: The store of each group id the job has seen with a store.
        self._group_store: dict[str, str] = {}
        self._locks: dict[str, anyio.Lock] = {}
        self._busy: collections.Counter[str] = collections.Counter()
        self._changed = anyio.Event()

    # -- routing ----------------------------------------------------------------------------

    def store_of_group(self, group_id: object) -> str | None:
        """The store of a group the job resolved (None: the client's own)."""
        return self._group_store.get(group_id) if isinstance(group_id, str) else None

    def shop_client(self, shop: str) -> Any:
        return self._routed_base.shop_client(shop)

    def key(self, upload: FaceUpload, content_hash: str) -> str:
        """The journal key of ``upload``: a row naming the client's own store is keyed as
        one that names no store, so the same key there is one item whichever way the
        manifest says it (it was two, and two faces with one key)."""
        if upload.sunmi_shop_no and upload.sunmi_shop_no == _own_shop(self._routed_base.base):
            upload = attrs.evolve(upload, sunmi_shop_no=None)
        return item_key(upload, content_hash)

    # -- resolving --------------------------------------------------------------------------

    async def _lookup(self, shop: str) -> _Lookup:
        lock = self._locks.setdefault(shop, anyio.Lock())
        async with lock:  # one listing per store; the other stores' items do not wait
            found = self._lookups.get(shop)
            if found is None:
                found = _Lookup()
                try:
                    groups = await self.shop_client(shop).groups.list()
                except Exception as exc:  # reported on each row of the store, listed once
                    found.error = f"{type(exc).__name__}: {exc}"
                else:
                    for group in groups:
                        found.by_name.setdefault(group.name, []).append(group.group_id)
                self._lookups[shop] = found
        return found

    async def resolve(self, entry: Entry) -> Entry:
        """``entry`` with its group id (looked up by name if need be), or why not.

        Called by the job's worker for each entry, so a store whose listing is slow holds
        only the workers of its own items.
        """
        if not isinstance(entry, FaceUpload) or not (entry.sunmi_shop_no or entry.group):
            return entry
        upload = entry
        shop = upload.sunmi_shop_no or ""
        where = f"store {shop!r}" if shop else "the client's store"
        line = upload.line or 0
        if upload.group_id or not upload.group:
            return self._routed(upload, shop, line, where)
        if not self.look_up:
            return attrs.evolve(upload, group_id=_placeholder(shop, upload.group))
        lookup = await self._lookup(shop)
        if lookup.error is not None:
            why = f"column 'group': the groups of {where} could not be listed: {lookup.error}"
            return ManifestError(line, why, upload.source, upload.sunmi_shop_no)
        ids = lookup.by_name.get(upload.group, [])
        if len(ids) != 1:
            known = ", ".join(repr(name) for name in sorted(lookup.by_name)) or "none"
            problem = "has no group" if not ids else f"has {len(ids)} groups"
            why = f"column 'group': {where} {problem} named {upload.group!r} (its groups: {known})"
            return ManifestError(line, why, upload.source, upload.sunmi_shop_no)
        return self._routed(attrs.evolve(upload, group_id=ids[0]), shop, line, where)

    def _routed(self, upload: FaceUpload, shop: str, line: int, where: str) -> Entry:
        if not shop:
            return upload
        try:
            self.shop_client(shop)
        except ValueError as exc:
            return ManifestError(
                line, f"column 'sunmi_shop_no': {exc}", upload.source, upload.sunmi_shop_no
            )
        held = self._group_store.setdefault(upload.group_id, shop)
        if held != shop:
            why = (
                f"column 'group_id': group {upload.group_id!r} is in store {held!r}, "
                f"not {where}; name the group by 'group' instead"
            )
            return ManifestError(line, why, upload.source, upload.sunmi_shop_no)
        return upload

    def entries(
        self, uploads: Iterable[Entry] | AsyncIterable[Entry]
    ) -> Iterable[Entry] | AsyncIterable[Entry]:
        """The uploads, in fair order when ``per_store_concurrency`` is set."""
        if self.per_store is None:
            return uploads
        return self._fair(_aiter_items(uploads, 32))

    # -- fair lanes -------------------------------------------------------------------------

    @asynccontextmanager
    async def lane(self, entry: object) -> AsyncIterator[None]:
        """Held while the job works on ``entry`` (what ``per_store_concurrency`` counts)."""
        if self.per_store is None or not isinstance(entry, FaceUpload):
            yield
            return
        try:
            yield
        finally:
            self._busy[store_of(entry)] -= 1
            self._changed.set()

    def _ready(self, queues: dict[str, collections.deque[Entry]]) -> Entry | None:
        """An item of the least busy store with room, taken off its queue."""
        assert self.per_store is not None
        best: str | None = None
        for shop, queue in queues.items():
            room = bool(queue) and self._busy[shop] < self.per_store
            if room and (best is None or self._busy[shop] < self._busy[best]):
                best = shop
        if best is None:
            return None
        self._busy[best] += 1
        return queues[best].popleft()

    async def _fair(self, source: AsyncIterator[Entry]) -> AsyncIterator[Entry]:
        queues: dict[str, collections.deque[Entry]] = {}
        spills: dict[str, _Spill] = {}
        exhausted = False
        held: Entry | None = None  # read, but its store's queue is full (bytes: not spilled)
        try:
            while True:
                for shop, spill in spills.items():  # refill in order from the spill file
                    while spill.count and len(queues[shop]) < _BUFFER_PER_STORE:
                        queues[shop].append(spill.pop())
                item = self._ready(queues)
                if item is not None:
                    yield item
                    continue
                if held is not None and len(queues[store_of(held)]) < _BUFFER_PER_STORE:
                    queues[store_of(held)].append(held)
                    held = None
                    continue
                if held is None and not exhausted:
                    try:
                        entry = await source.__anext__()
                    except StopAsyncIteration:
                        exhausted = True
                        continue
                    if not isinstance(entry, FaceUpload):
                        yield entry  # a bad row takes no lane
                        continue
                    shop = store_of(entry)
                    queue = queues.setdefault(shop, collections.deque())
                    spilled = shop in spills and spills[shop].count > 0
                    if len(queue) < _BUFFER_PER_STORE and not spilled:
                        queue.append(entry)
                    elif _Spill.takes(entry):
                        if shop not in spills:
                            spills[shop] = _Spill()
                        spills[shop].push(entry)
                    else:
                        held = entry
                    continue
                if exhausted and held is None and not any(queues.values()):
                    return
                self._changed = anyio.Event()
                await self._changed.wait()
        finally:
            for spill in spills.values():
                spill.close()
