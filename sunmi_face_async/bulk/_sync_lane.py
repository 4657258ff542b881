"""One store of a sync: listed, planned from its own listing, applied under its own slots.

``sync`` runs one ``Lane`` per store the manifest names (the client's own store included);
the stores of a chain run side by side, each through its ``with_shop`` client (the base
client's connections), each with its share of the journal (``StoreJournal``). A store whose
listing fails is no plan: its rows end FAILED with the cause, the other stores go on (in a
one-store sync the error is raised, as it always was).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import attrs

from ._engine import BulkMap
from ._policy import in_shard
from ._ratelimit import RateLimiter
from ._results import Outcome
from ._sync_apply import Applier, check_adds
from ._sync_model import SyncAction, SyncItem, SyncReport
from ._sync_plan import Planner
from ._sync_store import StoreIndex, list_store
from ._sync_view import StoreJournal
from .manifest import FaceUpload, ManifestError

if TYPE_CHECKING:
    from .sync import SyncOptions

__all__ = ["Lane"]

Entry = FaceUpload | ManifestError


@attrs.define
class Lane:
    """The sync of one store (``shop``; ``""``: the client's own)."""

    shop: str
    #: The store's number as its rows may name it (the client's own may be unknown).
    store_no: str | None
    make_client: Callable[[], Any]
    journal: StoreJournal
    options: SyncOptions
    settle: float
    #: Where each ended item goes (listed, handed to ``on_item``).
    emit: Callable[[SyncItem], None]
    concurrency: int
    #: Shared by every lane: requests in flight overall, stores listed at once, the rate.
    overall: anyio.CapacityLimiter
    listing: anyio.CapacityLimiter
    limiter: RateLimiter | None = None
    #: Unreadable rows of no known store: they hold prune back in this store too.
    held: int = 0
    #: What each item carries as ``sunmi_shop_no`` (None: a one-store sync).
    label: str | None = None
    #: A one-store sync raises what stops its listing; a chain reports it per row.
    chain: bool = False
    report: SyncReport = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.report = SyncReport(plan_only=self.options.plan_only)

    def _keep(self, item: SyncItem) -> None:
        if item.outcome is not None:
            self.report.outcomes[item.outcome.value] += 1
        self.emit(item)

    def _stamp(self, item: SyncItem) -> SyncItem:
        return item if self.label is None else attrs.evolve(item, sunmi_shop_no=self.label)

    async def _list(self) -> tuple[Any, StoreIndex, dict[str, str]]:
        async with self.listing:
            client = self.make_client()
            listed = await client.groups.list()
            index = await list_store(
                client,
                [g.group_id for g in listed],
                self.options.external_key_slot,
                concurrency=self.concurrency,
            )
        return client, index, {g.name: g.group_id for g in listed}

    async def run(self, rows: Iterable[Entry]) -> None:
        opts = self.options
        try:
            client, index, names = await self._list()
        except Exception as exc:
            if not self.chain:
                raise
            self._unplanned(rows, f"{type(exc).__name__}: {exc}")
            return
        self.report.pages = index.pages
        own = not self.shop
        planner = Planner(
            index,
            self.journal,
            opts.external_key_slot,
            opts.shard,
            set(opts.groups) if own else set(),
            opts.prune,
            opts.replace_pictures,
            opts.on_event,
            dry=opts.plan_only,
            names=names,
            store=self.store_no,
            where=f"store {self.shop!r}" if self.shop else "this store",
            check=functools.partial(check_adds, client, opts.external_key_slot)
            if opts.plan_only
            else None,
        )
        planner.unreadable += self.held
        await planner.settle_in_flight(await anyio.to_thread.run_sync(self.journal.in_flight))
        report = self.report

        async def counted() -> AsyncGenerator[SyncItem, None]:
            async for planned in planner.plan(rows):
                item = self._stamp(planned)
                report.count(item.action)
                if item.action is SyncAction.UNCHANGED or opts.plan_only:
                    self._keep(item)
                else:
                    yield item

        if opts.plan_only:
            async for _ in counted():
                pass
        else:
            await self._apply(client, counted())
        report.other_shards = planner.not_ours

    def _unplanned(self, rows: Iterable[Entry], cause: str) -> None:
        """The store could not be listed: each of its rows ends FAILED with the cause."""
        where = f"store {self.shop!r}" if self.shop else "the client's store"
        why = f"{where} could not be listed, so nothing was planned for it: {cause}"
        for entry in rows:
            if isinstance(entry, ManifestError):
                item = SyncItem(
                    SyncAction.INVALID, f"line:{entry.line}", None, entry.line, error=str(entry)
                )
            else:
                key = entry.external_key or f"line:{entry.line}"
                if entry.external_key and not in_shard(key, self.options.shard):
                    self.report.other_shards += 1
                    continue
                group = entry.group_id or entry.group
                item = SyncItem(SyncAction.UNPLANNED, key, group, entry.line, error=why)
            self.report.count(item.action)
            outcome = Outcome.INVALID if item.action is SyncAction.INVALID else Outcome.FAILED
            self._keep(self._stamp(attrs.evolve(item, outcome=outcome)))

    async def _apply(self, client: Any, planned: AsyncGenerator[SyncItem, None]) -> None:
        opts = self.options
        applier = Applier(
            client,
            self.journal,
            opts.external_key_slot,
            opts.prune,
            opts.retry_policy,
            self.report,
            self.settle,
            opts.on_event,
        )
        overall = self.overall

        async def apply(item: SyncItem) -> SyncItem | None:
            async with overall:  # the job's concurrency, over every store
                return await applier.apply(item)

        call: Callable[[SyncItem], Awaitable[SyncItem | None]] = apply
        engine: BulkMap[SyncItem, SyncItem] = BulkMap(
            planned,
            call,
            concurrency=self.concurrency,
            slot_per_call=False,
            limiter=self.limiter,
        )
        applier.engine = engine
        async with engine as results:
            async for item in results:
                self._keep(item)
        for _ in range(opts.reconcile_rounds):
            if not applier.unknown_adds:
                break
            for item in await applier.reconcile():
                self._keep(item)
        for item in applier.give_up():
            self._keep(item)
