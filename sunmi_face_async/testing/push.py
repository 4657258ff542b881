"""Signed push callbacks from the fake cloud to the hooks registered with ``/hook/add``.

The vendor does not say which event code reports a finished ``/face/add``, so the fake uses
its own, :data:`FAKE_FACE_ADDED_EVENT`. A callback is a form-encoded POST signed by the API's
rule with the integrator's secret; any 2xx acknowledges it, anything else (or a network error)
is retried after each of ``retry_delays``. Every attempt is signed afresh (new ``timestamp``
and ``random``); ``payload["push_id"]`` stays the same so a receiver can be idempotent.
"""

from __future__ import annotations

import itertools
import json
import ssl
import time
from collections.abc import Callable, Sequence
from typing import Any

import anyio
import attrs
import httpx

from ..signing import make_nonce, sign_params

__all__ = ["FAKE_FACE_ADDED_EVENT", "PushCenter", "PushRecord"]

#: The fake's own event code for "a face was added" (the real code is not published).
FAKE_FACE_ADDED_EVENT = 9001

#: The vendor's retry schedule after a failed delivery: 15 s, 30 s, 1 min, 2 min.
VENDOR_RETRY_DELAYS = (15.0, 30.0, 60.0, 120.0)
_CONCURRENT_DELIVERIES = 16


@attrs.frozen
class PushRecord:
    """The outcome of one callback: ``attempts`` made, ``status`` of the last answer."""

    url: str
    event: int
    payload: dict[str, Any]
    attempts: int
    delivered: bool
    status: int | None


@attrs.frozen
class _Pending:
    url: str
    event: int
    shop_no: str
    payload: dict[str, Any]


class PushCenter:
    """Queues callbacks and delivers them with httpx (over ``transport`` when one is given)."""

    def __init__(
        self,
        app_id: str,
        app_key: str,
        *,
        retry_delays: Sequence[float] = VENDOR_RETRY_DELAYS,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._app_id = app_id
        self._app_key = app_key
        self.retry_delays = tuple(retry_delays)
        self.transport = transport
        self._clock = clock
        self._ids = itertools.count(1)
        self.pending: list[_Pending] = []
        self.log: list[PushRecord] = []
        self._tls: ssl.SSLContext | None = None

    def __repr__(self) -> str:
        return f"<PushCenter app_id={self._app_id!r} pending={len(self.pending)}>"

    def enqueue(
        self, hooks: dict[str, frozenset[int]], shop_no: str, event: int, payload: dict[str, Any]
    ) -> int:
        """Queue ``event`` for every hook subscribed to it; return how many were queued."""
        queued = 0
        for url, events in hooks.items():
            if event in events:
                body = {"push_id": f"fake-{next(self._ids)}", **payload}
                self.pending.append(_Pending(url, event, shop_no, body))
                queued += 1
        return queued

    def _form(self, item: _Pending) -> dict[str, str]:
        form = {
            "app_id": self._app_id,
            "event": str(item.event),
            "payload": json.dumps(item.payload, separators=(",", ":")),
            "random": make_nonce(),
            "shop_id": item.shop_no,
            "sunmi_shop_no": item.shop_no,
            "timestamp": str(int(self._clock())),
        }
        form["sign"] = sign_params(form, self._app_key)
        return form

    async def deliver(self) -> list[PushRecord]:
        """Deliver every queued callback (concurrently, with retries); return their records."""
        batch, self.pending = self.pending, []
        records: list[PushRecord] = []
        if not batch:
            return records
        # A bounded number of deliveries at a time: hundreds of concurrent requests on one
        # connection pool cost quadratic time in httpcore's scheduling.
        limiter = anyio.CapacityLimiter(_CONCURRENT_DELIVERIES)
        if self._tls is None:
            self._tls = ssl.create_default_context()  # made once: it costs milliseconds
        client = httpx.AsyncClient(transport=self.transport, timeout=10.0, verify=self._tls)
        async with client:

            async def one(item: _Pending) -> None:
                records.append(await self._deliver_one(client, item, limiter))

            async with anyio.create_task_group() as tg:
                for item in batch:
                    tg.start_soon(one, item)
        self.log.extend(records)
        return records

    async def _deliver_one(
        self, client: httpx.AsyncClient, item: _Pending, limiter: anyio.CapacityLimiter
    ) -> PushRecord:
        status: int | None = None
        delays = (0.0, *self.retry_delays)
        for attempt, delay in enumerate(delays, start=1):
            if delay:
                await anyio.sleep(delay)
            try:
                async with limiter:
                    response = await client.post(item.url, data=self._form(item))
            except httpx.HTTPError:
                status = None
                continue
            status = response.status_code
            if response.is_success:
                return PushRecord(item.url, item.event, item.payload, attempt, True, status)
        return PushRecord(item.url, item.event, item.payload, len(delays), False, status)
