"""``sync(client, items, external_key_slot=N)``: make groups match a manifest, by external key.

The manifest (``FaceUpload`` rows, as ``read_manifest`` gives them) is the desired state,
each row keyed by its ``external_key``, which the server holds in custom value slot
``external_key_slot``. Every group of the store is listed once (concurrent pages), then each
row is matched by key: **add** a key no face carries, **update** a face whose name, gender,
age range or custom values differ, **move** a face that sits in another group of the store,
**replace** a face whose picture changed since sync uploaded it (add the new face, then
delete the old one), and with ``prune`` **delete** the faces of the target groups whose key
the manifest does not hold, and the extra faces sharing one key (reported as duplicates
without it). ``plan_only`` changes nothing and returns the plan.

Applying keeps enroll's guarantees: the sync journal (SQLite) records each action before
its request, a journal belongs to one job (another is refused naming the difference), an
add whose outcome is unknown is reconciled by listing its group for the key, and a run
killed at any point is finished by the next run, which re-plans from the server and so
finds what landed. A sync right after a complete one plans nothing and sends no write.

Rows naming another store (``sunmi_shop_no``) sync that store too: each store is listed,
planned and applied on its own (``_sync_lane``), its journal keys prefixed (``S2/key``).
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from typing import Any

import anyio
import anyio.to_thread
import attrs

from .. import RetryPolicy
from ..models import CUSTOM_SLOTS
from ._policy import default_settle, job_identity
from ._ratelimit import RateLimiter
from ._results import BulkEvent
from ._sync_journal import SyncJournal
from ._sync_lane import Lane
from ._sync_model import SyncAction, SyncItem, SyncReport
from ._sync_view import RowSpill, StoreJournal, split_by_store, store_prefix
from .manifest import FaceUpload, ManifestError

__all__ = ["SyncAction", "SyncItem", "SyncJournal", "SyncOptions", "SyncReport", "sync"]

Entry = FaceUpload | ManifestError


def _required_slot(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("external_key_slot is required: the custom slot holding each key")
    if not 1 <= value <= CUSTOM_SLOTS:
        raise ValueError(f"external_key_slot must be 1 to {CUSTOM_SLOTS}")


def _at_least_one(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be at least 1")


def _none_or_at_least_one(
    instance: object, attribute: attrs.Attribute[int | None], value: int | None
) -> None:
    if value is not None:
        _at_least_one(instance, attribute, value)  # type: ignore[arg-type]


def _not_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} cannot be negative")


def _shard(
    instance: object, attribute: attrs.Attribute[Any], value: tuple[int, int] | None
) -> None:
    if value is not None and (value[1] < 1 or not 0 <= value[0] < value[1]):
        raise ValueError("shard must be (k, n) with 0 <= k < n")


def _exact(upper: float) -> float:
    return upper  # the whole backoff, no jitter (as enroll waits)


@attrs.frozen(kw_only=True)
class SyncOptions:
    """The options of ``sync`` (see there); validated once, a bad one raises ``ValueError``."""

    external_key_slot: int = attrs.field(validator=_required_slot)
    prune: bool = False
    replace_pictures: bool = False
    plan_only: bool = False
    #: Target groups besides those the manifest rows name (what ``prune`` may empty).
    groups: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    journal: str | os.PathLike[str] | SyncJournal | None = None
    resume: bool | None = None
    concurrency: int = attrs.field(default=16, validator=_at_least_one)
    #: At most this many requests in flight per store (None: ``concurrency``).
    per_store_concurrency: int | None = attrs.field(default=None, validator=_none_or_at_least_one)
    rate: float | None = None
    shard: tuple[int, int] | None = attrs.field(default=None, validator=_shard)
    settle: float | None = None
    max_attempts: int = attrs.field(default=3, validator=_at_least_one)
    retry_delay: float = attrs.field(default=0.25, validator=_not_negative)
    reconcile_rounds: int = 3
    job: Mapping[str, Any] | None = None
    job_settings: Mapping[str, Any] | None = None
    #: What else a ``resume`` must find as the last run left it (the CLI: the manifest's
    #: fingerprint), besides ``prune`` and ``replace_pictures``; recorded by each run.
    run_settings: Mapping[str, Any] | None = None
    max_listed: int | None = 1000
    on_item: Callable[[SyncItem], None] | None = None
    on_event: Callable[[BulkEvent], None] | None = None

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.max_attempts,
            backoff_base=self.retry_delay,
            backoff_cap=5.0,
            max_retry_after=30.0,
            jitter=_exact,
        ).switched()


async def sync(
    client: Any,
    items: Iterable[Entry] | AsyncIterable[Entry],
    options: SyncOptions | None = None,
    *,
    external_key_slot: int | None = None,
    prune: bool = False,
    replace_pictures: bool = False,
    plan_only: bool = False,
    groups: Iterable[str] = (),
    journal: str | os.PathLike[str] | SyncJournal | None = None,
    resume: bool | None = None,
    concurrency: int = 16,
    per_store_concurrency: int | None = None,
    rate: float | None = None,
    shard: tuple[int, int] | None = None,
    settle: float | None = None,
    max_attempts: int = 3,
    retry_delay: float = 0.25,
    reconcile_rounds: int = 3,
    job: Mapping[str, Any] | None = None,
    job_settings: Mapping[str, Any] | None = None,
    run_settings: Mapping[str, Any] | None = None,
    max_listed: int | None = 1000,
    on_item: Callable[[SyncItem], None] | None = None,
    on_event: Callable[[BulkEvent], None] | None = None,
) -> SyncReport:
    """Make the store's groups match ``items``; returns the plan (``plan_only``) or the
    report of the applied sync.

    The options come as keywords (typed here, so a checker sees them) or as one
    ``SyncOptions`` (``options=``; then no keyword may be given): either way they become one
    ``SyncOptions``, validated once (``ValueError`` naming the option). ``external_key_slot``
    (1 to ``CUSTOM_SLOTS``) is required: the custom value slot holding each face's key.
    ``groups`` names target groups besides those the rows name (what ``prune`` may empty);
    ``on_item`` gets each item as it ends, ``on_event`` what sync waits for and adopts.

    ``journal`` (a path) keeps, per key, the sha256 of the picture sync uploaded, and the
    actions in flight: run every sync of one job with the same journal. Without one, no
    picture is known, so none counts as changed (unless ``replace_pictures``). A journal
    records its job (store, key slot, shard, ``job``); another job's is refused with
    ``JournalMismatchError``, and ``resume=True`` refuses a missing or empty journal.
    ``shard=(k, n)`` takes the keys whose stable hash is k modulo n (``in_shard``), so n
    processes with n journals share one manifest. ``resume=True`` finishes the last run as
    it ran: its ``prune``, ``replace_pictures`` and ``run_settings`` must be this run's
    (``JournalMismatchError`` naming each difference). An earlier run's actions in flight are
    re-planned only ``settle`` seconds after they were sent (default: the client's timeout
    plus 5 s), so an add still on the wire lands before the groups are listed.

    Rows naming their store (``sunmi_shop_no``, a row naming none: the client's) sync each
    store through ``client.with_shop``: planned from its own listing, pruned only in the
    stores named (not one with an unreadable row), at most ``per_store_concurrency``
    requests of one store in flight. A store that cannot be listed ends its rows FAILED
    (``UNPLANNED``) while the others apply; ``SyncReport.by_store`` breaks the report down.
    """
    # The keywords above are exactly the fields of SyncOptions (a test holds them equal).
    keywords = {name: value for name, value in locals().items() if name in _DEFAULTS}
    if options is None:
        options = SyncOptions(**keywords)
    else:
        changed = sorted(k for k, v in keywords.items() if _DEFAULTS[k] != v and k != "groups")
        if changed or tuple(keywords["groups"]):
            given = ", ".join(changed or ["groups"])
            raise TypeError(f"sync: pass options= or keywords, not both (got {given})")
    return await _Run(client, options).run(items)


_DEFAULTS = {
    name: None if field.default is attrs.NOTHING else field.default
    for name, field in attrs.fields_dict(SyncOptions).items()
}


def _has_journal(path: str) -> bool:
    try:
        return path not in ("", ":memory:") and os.path.getsize(path) > 0
    except OSError:
        return False


def _store_of(client: Any) -> str | None:
    shop = getattr(client, "shop", None)
    found = shop.get("sunmi_shop_no") if isinstance(shop, Mapping) else None
    return found if isinstance(found, str) else None


class _Run:
    def __init__(self, client: Any, options: SyncOptions) -> None:
        self.client = client
        self.options = options
        self.report = SyncReport(plan_only=options.plan_only)
        self.settle = default_settle(client) if options.settle is None else options.settle

    def _open(self) -> tuple[SyncJournal, bool]:
        given, opts = self.options.journal, self.options
        if isinstance(given, SyncJournal):
            journal = given
        else:
            path = "" if given is None else os.fspath(given)
            if opts.plan_only and not opts.resume and not _has_journal(path):
                path = ""  # a plan writes nothing: with no journal yet, it knows no picture
            journal = SyncJournal(path, resume=opts.resume)
        identity = job_identity(
            self.client,
            opts.external_key_slot,
            opts.shard,
            {"operation": "sync", **(opts.job or {})},
        )
        # A resume finishes the last run as it ran: the same prune and replace_pictures.
        run = {
            "prune": opts.prune,
            "replace_pictures": opts.replace_pictures,
            **(opts.run_settings or {}),
        }
        journal.open(identity, opts.job_settings, run=run, record_run=not opts.plan_only)
        return journal, not isinstance(given, SyncJournal)

    async def run(self, items: Iterable[Entry] | AsyncIterable[Entry]) -> SyncReport:
        started = anyio.current_time()
        journal, owned = await anyio.to_thread.run_sync(self._open)
        finished = False
        try:
            await self._run(journal, items)
            finished = True
        finally:
            self.report.elapsed = anyio.current_time() - started
            self.report.cancelled = not finished
            if owned:
                journal.close()
        return self.report

    def _keep(self, item: SyncItem) -> None:
        """An item's end: counted by outcome, listed (without its manifest row) if it changes
        something, handed to ``on_item``."""
        report, opts = self.report, self.options
        if item.action is not SyncAction.UNCHANGED:
            room = opts.max_listed is None or len(report.items) < opts.max_listed
            if room:
                report.items.append(attrs.evolve(item, upload=None))
        if opts.on_item is not None:
            opts.on_item(item)

    async def _run(
        self, journal: SyncJournal, items: Iterable[Entry] | AsyncIterable[Entry]
    ) -> None:
        opts = self.options
        own = _store_of(self.client)
        spills, unplaced = await split_by_store(items, own)
        try:
            shops = list(spills)
            if "" not in spills and (not shops or opts.groups):
                shops.insert(0, "")  # the client's store: its groups are named, or no row is
            await self._settle(journal)
            await self._lanes(journal, shops, spills, unplaced)
        finally:
            for spill in spills.values():
                spill.close()

    async def _settle(self, journal: SyncJournal) -> None:
        """An earlier run died with requests on the wire: let them land before listing."""
        opts = self.options
        left = await anyio.to_thread.run_sync(journal.in_flight)
        wait = max((row.updated_at for row in left), default=0.0) + self.settle - time.time()
        if left and wait > 0 and not opts.plan_only:
            if opts.on_event is not None:
                said = f"{len(left)} action(s) an earlier run left in flight: waiting {wait:.0f} s"
                opts.on_event(BulkEvent("sync", detail=f"{said} for them to land"))
            await anyio.sleep(wait)

    def _client_of(self, shop: str) -> Any:
        if not shop:
            return self.client
        with_shop = getattr(self.client, "with_shop", None)
        if with_shop is None:
            raise ValueError("this client cannot address other stores (no with_shop)")
        return with_shop(sunmi_shop_no=shop)

    async def _lanes(
        self, journal: SyncJournal, shops: list[str], spills: dict[str, RowSpill], unplaced: int
    ) -> None:
        """One lane per store; a chain's run side by side (see ``_sync_lane``)."""
        opts, own = self.options, _store_of(self.client)
        chain = any(shops)
        lane_width = min(opts.concurrency, opts.per_store_concurrency or opts.concurrency)
        overall = anyio.CapacityLimiter(opts.concurrency)
        # Stores listed at once: as many as their pages in flight fit in the concurrency.
        listing = anyio.CapacityLimiter(max(1, opts.concurrency // lane_width))
        limiter = RateLimiter(opts.rate, 1) if opts.rate else None
        prefixes = [store_prefix(shop) for shop in shops]
        lanes = [
            Lane(
                shop,
                shop or own,
                functools.partial(self._client_of, shop),
                StoreJournal(journal, store_prefix(shop), prefixes),
                opts,
                self.settle,
                self._keep,
                lane_width,
                overall,
                listing,
                limiter,
                held=unplaced if shop else 0,
                label=(shop or own) if chain else None,
                chain=chain,
            )
            for shop in shops
        ]
        try:
            if len(lanes) == 1:
                await lanes[0].run(spills.get(shops[0], ()))
            else:
                async with anyio.create_task_group() as group:
                    for lane in lanes:
                        group.start_soon(lane.run, spills.get(lane.shop, ()))
        finally:
            for lane in lanes:
                self.report.absorb(lane.shop, lane.report)
