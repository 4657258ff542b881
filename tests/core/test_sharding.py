"""Connection shards: several owned httpx clients of at most 4 connections, least busy first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest
import respx

from sunmi_face_async import AsyncSunmiFace

from .helpers import APP_ID, APP_KEY, BASE_URL, SHOP_NO, form_fields, md5_sign, ok


def pool_limits(http: httpx.AsyncClient) -> tuple[int, int]:
    pool = http._transport._pool  # type: ignore[attr-defined]
    return pool._max_connections, pool._max_keepalive_connections


@pytest.mark.parametrize(
    ("max_connections", "shards"),
    [(1, 1), (4, 1), (5, 2), (15, 4), (16, 4), (17, 5), (33, 9), (64, 16), (100, 25)],
)
async def test_owned_clients_are_sharded(max_connections: int, shards: int) -> None:
    async with AsyncSunmiFace(
        APP_ID, APP_KEY, sunmi_shop_no=SHOP_NO, max_connections=max_connections
    ) as api:
        clients = api._transport._clients
        assert len(clients) == shards == api._transport.shard_count
        assert len({id(c) for c in clients}) == shards
        limits = [pool_limits(http) for http in clients]
        assert all(isinstance(http, httpx.AsyncClient) for http in clients)
        assert all(keepalive == size for size, keepalive in limits)
        sizes = [size for size, _ in limits]
        assert max(sizes) <= 4
        assert max(sizes) - min(sizes) <= 1  # balanced shards
        assert sum(sizes) == max_connections


async def test_64_connections_are_sixteen_clients_of_4() -> None:
    async with AsyncSunmiFace(APP_ID, APP_KEY, sunmi_shop_no=SHOP_NO, max_connections=64) as api:
        assert [pool_limits(c) for c in api._transport._clients] == [(4, 4)] * 16


async def test_shards_share_one_verifying_tls_context() -> None:
    async with AsyncSunmiFace(APP_ID, APP_KEY, sunmi_shop_no=SHOP_NO, max_connections=12) as api:
        contexts = {id(c._transport._pool._ssl_context) for c in api._transport._clients}  # type: ignore[attr-defined]
        assert len(contexts) == 1


async def test_a_callers_http_client_is_used_as_is() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok({"face_id": "1"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        api = AsyncSunmiFace(
            APP_ID,
            APP_KEY,
            sunmi_shop_no=SHOP_NO,
            base_url=BASE_URL,
            http_client=http,
            max_connections=64,
        )
        assert api._transport._clients == [http]
        await api.faces.get("1")
        await api.aclose()
        assert not http.is_closed  # the caller closes its own client
        assert len(seen) == 1
        fields = form_fields(seen[0])
        assert fields["sign"] == md5_sign(fields)


async def test_a_custom_transport_gets_one_client() -> None:
    transport = httpx.MockTransport(lambda request: ok({"face_id": "1"}))
    async with AsyncSunmiFace(
        APP_ID, APP_KEY, sunmi_shop_no=SHOP_NO, transport=transport, max_connections=64
    ) as api:
        assert api._transport.shard_count == 1
        assert (await api.faces.get("1")).face_id == "1"


async def test_concurrent_requests_spread_over_the_least_busy_shards(
    router: respx.MockRouter,
) -> None:
    """Eight requests in flight at once over four shards: two on each, none left busy."""
    route = router.post("/face/getInfo").mock(return_value=ok({"face_id": "1"}))
    in_flight = 8
    async with AsyncSunmiFace(
        APP_ID, APP_KEY, sunmi_shop_no=SHOP_NO, base_url=BASE_URL, max_connections=16
    ) as api:
        transport = api._transport
        used: list[int] = []
        busy_seen: list[list[int]] = []
        everyone_in = anyio.Event()

        def slow_send(index: int, send: Callable[..., Any]) -> Callable[..., Any]:
            async def wrapper(request: httpx.Request, **kwargs: Any) -> httpx.Response:
                used.append(index)
                busy_seen.append(list(transport._busy))
                if len(used) == in_flight:
                    everyone_in.set()
                await everyone_in.wait()  # hold every request open until all are in flight
                response: httpx.Response = await send(request, **kwargs)
                return response

            return wrapper

        for index, http in enumerate(transport._clients):
            http.send = slow_send(index, http.send)  # type: ignore[method-assign]

        async with anyio.create_task_group() as tg:
            for _ in range(in_flight):
                tg.start_soon(api.faces.get, "1")
        assert sorted(used) == [0, 0, 1, 1, 2, 2, 3, 3]
        assert busy_seen[-1] == [2, 2, 2, 2]
        assert transport._busy == [0, 0, 0, 0]
    assert route.call_count == in_flight


async def test_busy_count_is_released_when_a_request_fails(router: respx.MockRouter) -> None:
    router.post("/face/getInfo").mock(side_effect=httpx.ReadError("reset"))
    from sunmi_face_async import NO_RETRY, TransportError

    async with AsyncSunmiFace(
        APP_ID,
        APP_KEY,
        sunmi_shop_no=SHOP_NO,
        base_url=BASE_URL,
        max_connections=8,
        retry=NO_RETRY,
    ) as api:
        with pytest.raises(TransportError):
            await api.faces.get("1")
        assert api._transport._busy == [0, 0]


async def test_timeout_reaches_every_owned_client() -> None:
    async with AsyncSunmiFace(
        APP_ID, APP_KEY, sunmi_shop_no=SHOP_NO, timeout=4.5, max_connections=12
    ) as api:
        assert [http.timeout for http in api._transport._clients] == [httpx.Timeout(4.5)] * 3
