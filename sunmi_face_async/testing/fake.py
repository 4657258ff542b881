"""``FakeSunmiCloud``: a stateful, in-memory SUNMI face cloud with fault injection.

It holds the stores (created on first use with the three default groups), the gateway's
checks, the faults and the counters; :mod:`._app` puts an ASGI app in front of it. Use it
in-process through :meth:`FakeSunmiCloud.transport` or over HTTP with ``FakeCloudServer``.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
import httpx

from ..models import Face, FaceGroup
from ..pictures import MAX_BODY_BYTES
from ._gateway import AuthFailure, Gateway
from ._processing import READY, Processing
from ._state import FaceRecord, Limits, MoveStrategy, ShopState
from .faults import Fault, Faults
from .push import FAKE_FACE_ADDED_EVENT, VENDOR_RETRY_DELAYS, PushCenter, PushRecord

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from .. import AsyncSunmiFace

__all__ = ["DEFAULT_APP_ID", "DEFAULT_APP_KEY", "DEFAULT_SHOP_NO", "FakeStats", "FakeSunmiCloud"]

DEFAULT_APP_ID = "FAKEAPP0000001"
DEFAULT_APP_KEY = "fake-app-key-0123456789"
DEFAULT_SHOP_NO = "560279010307"
#: The base URL of the in-process surface (any host works; this one never resolves).
IN_PROCESS_BASE_URL = "http://fake.sunmi.test/openapi"
_FIRST_ID = 578_968_810_001


@attrs.define
class FakeStats:
    """Counters for tests and benchmarks. ``request_times`` holds ``time.monotonic()`` stamps."""

    requests_by_endpoint: Counter[str] = attrs.field(factory=Counter)
    in_flight: int = 0
    max_in_flight: int = 0
    request_times: list[float] = attrs.field(factory=list)
    faults_injected: Counter[str] = attrs.field(factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests_by_endpoint": dict(self.requests_by_endpoint),
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "request_times": list(self.request_times),
            "faults_injected": dict(self.faults_injected),
        }


class FakeSunmiCloud:
    """An emulation of the SUNMI face API, for tests and benchmarks.

    The limits the vendor leaves open are keywords: ``max_groups`` (default groups included),
    ``max_faces`` (faces per store, and the largest capacity of one group),
    ``default_capacity`` (of the default groups and of groups created without one).
    ``clock`` (unix seconds) drives timestamps and the signature window.

    ``shops``: the stores the fake knows besides its own ``shop_no``. When given, a request
    naming any other store is answered 5041 (as the vendor answers a store the integrator
    does not have), so a mistyped store number fails the test. When None (the default),
    every store a request names is created on first use, with its default groups.
    """

    def __init__(
        self,
        *,
        app_id: str = DEFAULT_APP_ID,
        app_key: str = DEFAULT_APP_KEY,
        shop_no: str = DEFAULT_SHOP_NO,
        seed: int = 0,
        max_groups: int = 10,
        max_faces: int = 30_000,
        default_capacity: int = 1000,
        faults: Faults | None = None,
        auth_failure: AuthFailure = "code",
        timestamp_window: float = 600.0,
        max_body_size: int = MAX_BODY_BYTES,
        clock: Callable[[], float] = time.time,
        push_on_add: bool = False,
        push_retry_delays: Sequence[float] = VENDOR_RETRY_DELAYS,
        push_transport: httpx.AsyncBaseTransport | None = None,
        shops: Iterable[str] | None = None,
        processing_delay: float = 0.0,
        reject_rate: float = 0.0,
    ) -> None:
        self.app_id = app_id
        self.app_key = app_key
        self.shop_no = shop_no
        self.seed = seed
        self.limits = Limits(
            max_groups=max_groups, max_faces=max_faces, default_capacity=default_capacity
        )
        self.faults = faults if faults is not None else Faults()
        self.faults.validate()
        self.stats = FakeStats()
        self.max_body_size = max_body_size
        self.clock = clock
        self.push_on_add = push_on_add
        self.rng = random.Random(seed)
        self.gateway = Gateway(
            {app_id: app_key}, window=timestamp_window, clock=clock, auth_failure=auth_failure
        )
        self.push = PushCenter(
            app_id, app_key, retry_delays=push_retry_delays, transport=push_transport, clock=clock
        )
        #: ``shop_id`` values that name another store key (others are store keys themselves).
        self.shop_aliases: dict[str, str] = {}
        self._shops: dict[str, ShopState] = {}
        #: The stores requests may name (None: any, each created on first use).
        self.known_shops: frozenset[str] | None = (
            None if shops is None else frozenset([shop_no, *shops])
        )
        self._ids = itertools.count(_FIRST_ID)
        self._deliveries: set[asyncio.Task[list[PushRecord]]] = set()
        self._due = False
        self._app: Starlette | None = None
        #: Added faces being processed, and those refused (``reject_rate``).
        self.processing = Processing(
            delay=processing_delay, reject_rate=reject_rate, seed=seed, on_decided=self._decided
        )

    def __repr__(self) -> str:
        return f"<FakeSunmiCloud app_id={self.app_id!r} shop_no={self.shop_no!r}>"

    # -- surfaces ----------------------------------------------------------------------------

    @property
    def app(self) -> Starlette:
        """The ASGI app (starlette): the API under ``/openapi``, admin under ``/_fake``."""
        if self._app is None:
            from ._app import build_app

            self._app = build_app(self)
        return self._app

    def transport(self) -> httpx.ASGITransport:
        """An httpx transport that calls the app in-process (a dropped connection raises)."""
        return httpx.ASGITransport(app=self.app)

    def client(self, **kwargs: Any) -> AsyncSunmiFace:
        """An ``AsyncSunmiFace`` bound to this cloud in-process; keywords override defaults."""
        from .. import AsyncSunmiFace

        options: dict[str, Any] = {
            "sunmi_shop_no": self.shop_no,
            "base_url": IN_PROCESS_BASE_URL,
            "transport": self.transport(),
        }
        options.update(kwargs)
        return AsyncSunmiFace(self.app_id, self.app_key, **options)

    def register_app(self, app_id: str, app_key: str) -> None:
        """Accept requests signed by another integrator too."""
        self.gateway.apps = {**self.gateway.apps, app_id: app_key}

    # -- state -------------------------------------------------------------------------------

    def now(self) -> int:
        return int(self.clock())

    def _new_id(self) -> str:
        return str(next(self._ids))

    def knows(self, shop: str) -> bool:
        """Whether a request may name store ``shop`` (a ``shop_id`` alias counts as its store)."""
        known = self.known_shops
        return known is None or shop in known or self.shop_aliases.get(shop, shop) in known

    def shop_state(self, shop_no: str | None = None) -> ShopState:
        """The state of shop ``shop_no`` (default: the cloud's own), created on first use."""
        key = shop_no or self.shop_no
        key = self.shop_aliases.get(key, key)
        store = self._shops.get(key)
        if store is None:
            store = ShopState(key, new_id=self._new_id, limits=self.limits, now=self.now)
            self._shops[key] = store
        return store

    def store(self, shop_no: str | None = None) -> ShopState:
        """Deprecated alias of :meth:`shop_state` (removed in the next release)."""
        warnings.warn(
            "FakeSunmiCloud.store() is deprecated; use FakeSunmiCloud.shop_state()",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.shop_state(shop_no)

    @property
    def gate(self) -> Gateway:
        """Deprecated alias of :attr:`gateway` (removed in the next release)."""
        warnings.warn(
            "FakeSunmiCloud.gate is deprecated; use FakeSunmiCloud.gateway",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.gateway

    def groups_of(self, shop_no: str | None = None) -> list[FaceGroup]:
        """The server's truth: the store's groups, as models."""
        return [FaceGroup.from_wire(g.wire()) for g in self.shop_state(shop_no).groups.values()]

    def _face_model(self, store: ShopState, face: FaceRecord) -> Face:
        return Face.from_wire(face.wire(store.groups[face.group_id].name, list_form=False))

    def faces_in(self, group_id: str, shop_no: str | None = None) -> list[Face]:
        """The server's truth: every face of a group in page order, as models."""
        store = self.shop_state(shop_no)
        group = store.group(group_id, 5506)
        return [self._face_model(store, face) for face in group.faces.values()]

    def move_strategy(self, shop_no: str | None = None) -> MoveStrategy | None:
        """The store's stranger move strategy, as last set by ``updateMoveStrategy``."""
        return self.shop_state(shop_no).strategy

    def hooks(self, shop_no: str | None = None) -> dict[str, frozenset[int]]:
        """The store's push subscriptions: callback URL -> event codes."""
        return dict(self.shop_state(shop_no).hooks)

    def picture_digest(self, face_id: str, shop_no: str | None = None) -> tuple[str, int]:
        """The sha256 (hex) and size of the picture a face was enrolled with."""
        face = self.shop_state(shop_no).face(face_id)
        return face.pic_sha256, face.pic_size

    def simulate_arrival(
        self, face_id: str, shop_no: str | None = None, at: float | datetime | None = None
    ) -> Face:
        """A camera sighting at ``at`` (unix seconds or an aware datetime; default now).

        Bumps ``arrival_count`` and ``last_arrival_time``, and moves a stranger seen
        ``threshold`` times within ``period`` seconds to the strategy's target group (if it
        still exists and has room). Returns the face as it is afterwards.
        """
        if isinstance(at, datetime):
            at = at.timestamp()
        store = self.shop_state(shop_no)
        face = store.arrival(face_id, self.now() if at is None else int(at))
        return self._face_model(store, face)

    def face_added(self, store: ShopState, face_id: str) -> int:
        """Queue the fake's face-added callback for the store's hooks (once the face is
        processed: at once unless ``processing_delay``; see ``_processing``)."""
        if not self.processing.active:
            return self._queue_outcome(store, store.face(face_id), READY)
        face = store.faces[face_id]
        outcome = self.processing.added(store, face_id)
        return 0 if outcome is None else self._queue_outcome(store, face, outcome)

    def _queue_outcome(self, store: ShopState, face: FaceRecord, outcome: tuple[int, str]) -> int:
        code, msg = outcome
        payload = {"face_id": face.face_id, "group_id": face.group_id, "code": code, "msg": msg}
        return self.push.enqueue(store.hooks, store.shop_no, FAKE_FACE_ADDED_EVENT, payload)

    def _decided(self, store: ShopState, face: FaceRecord, outcome: tuple[int, str]) -> None:
        # A face decided after its delay: queue its push, and deliver it like an answer's.
        # The faces decided in one turn of the loop share one delivery (one HTTP client);
        # each delivery retries on its own, so a lost push never holds up the next ones.
        if self._queue_outcome(store, face, outcome) and self.push_on_add and not self._due:
            self._due = True
            asyncio.get_running_loop().call_soon(self._start_delivery)

    def _start_delivery(self) -> None:
        self._due = False
        task = asyncio.get_running_loop().create_task(self.deliver_pushes())
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def deliver_pushes(self) -> list[PushRecord]:
        """Deliver every queued callback now (with the configured retries)."""
        return await self.push.deliver()

    # -- faults and counters -----------------------------------------------------------------

    def draw_fault(self, path: str) -> Fault:
        """The fault for one request that passed the gateway (none outside ``endpoints``)."""
        if not self.faults.applies_to(path):
            return Fault()
        fault = self.faults.draw(self.rng)
        if fault.kind != "none":
            self.stats.faults_injected[fault.label] += 1
        return fault

    def reset_stats(self) -> None:
        """Zero the counters (requests still in flight stay counted as in flight)."""
        stats = self.stats
        stats.requests_by_endpoint.clear()
        stats.request_times.clear()
        stats.faults_injected.clear()
        stats.max_in_flight = stats.in_flight
