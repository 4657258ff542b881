"""Connection pools: several owned httpx clients of at most 4 connections, least busy first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import httpcore
import httpx
import pytest
import respx

from sunmi_face_async import AsyncSunmiFace

from .helpers import APP_ID, APP_KEY, BASE_URL, SHOP_NO, form_fields, md5_sign, ok


def pool_limits(pool: httpx.AsyncBaseTransport) -> tuple[int, int]:
    core = pool._pool  # type: ignore[attr-defined]
    return core._max_connections, core._max_keepalive_connections


@pytest.mark.parametrize(
    ("max_connections", "count"),
    [(1, 1), (4, 1), (5, 2), (15, 4), (16, 4), (17, 5), (33, 9), (64, 16), (100, 25)],
)
async def test_owned_connections_are_split_into_pools(max_connections: int, count: int) -> None:
    async with AsyncSunmiFace(
        APP_ID, APP_KEY, sunmi_shop_no=SHOP_NO, max_connections=max_connections
    ) as api:
        pools = api._transport.connections.pools
        assert len(pools) == count == api._transport.pool_count
        assert len({id(p) for p in pools}) == count
        limits = [pool_limits(pool) for pool in pools]
        assert all(isinstance(pool, httpx.AsyncHTTPTransport) for pool in pools)
        assert all(keepalive == size for size, keepalive in limits)
        sizes = [size for size, _ in limits]
        assert max(sizes) <= 4
        assert max(sizes) - min(sizes) <= 1  # balanced pools
        assert sum(sizes) == max_connections


async def test_64_connections_are_sixteen_clients_of_4() -> None:
    async with AsyncSunmiFace(APP_ID, APP_KEY, sunmi_shop_no=SHOP_NO, max_connections=64) as api:
        assert [pool_limits(p) for p in api._transport.connections.pools] == [(4, 4)] * 16


async def test_pools_share_one_verifying_tls_context() -> None:
    async with AsyncSunmiFace(APP_ID, APP_KEY, sunmi_shop_no=SHOP_NO, max_connections=12) as api:
        pools = api._transport.connections.pools
        contexts = {id(p._pool._ssl_context) for p in pools}  # type: ignore[attr-defined]
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
        assert api._transport.connections.client is http
        assert api._transport.connections.pools == []
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
        assert api._transport.pool_count == 1
        assert (await api.faces.get("1")).face_id == "1"


async def test_concurrent_requests_spread_over_the_least_busy_pools(
    router: respx.MockRouter,
) -> None:
    """Eight requests in flight at once over four pools: two on each, none left busy."""
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
                busy_seen.append(transport.connections.busy)
                if len(used) == in_flight:
                    everyone_in.set()
                await everyone_in.wait()  # hold every request open until all are in flight
                response: httpx.Response = await send(request, **kwargs)
                return response

            return wrapper

        for index, pool in enumerate(transport.connections.pools):
            pool.handle_async_request = slow_send(index, pool.handle_async_request)  # type: ignore[method-assign]

        async with anyio.create_task_group() as tg:
            for _ in range(in_flight):
                tg.start_soon(api.faces.get, "1")
        assert sorted(used) == [0, 0, 1, 1, 2, 2, 3, 3]
        assert busy_seen[-1] == [2, 2, 2, 2]
        assert transport.connections.busy == [0, 0, 0, 0]
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
        assert api._transport.connections.busy == [0, 0]


async def test_timeout_reaches_every_request(router: respx.MockRouter) -> None:
    route = router.post("/face/getInfo").mock(return_value=ok({"face_id": "1"}))
    async with AsyncSunmiFace(
        APP_ID, APP_KEY, sunmi_shop_no=SHOP_NO, base_url=BASE_URL, timeout=4.5, max_connections=12
    ) as api:
        await api.faces.get("1")
    assert route.calls[0].request.extensions["timeout"] == httpx.Timeout(4.5).as_dict()


@pytest.mark.parametrize(
    ("env", "proxied"),
    [
        ({"HTTPS_PROXY": "http://proxy.example:3128"}, True),
        ({"ALL_PROXY": "http://proxy.example:3128"}, True),
        ({"HTTPS_PROXY": "http://proxy.example:3128", "NO_PROXY": "store.sunmi.com"}, False),
        ({}, False),
    ],
)
async def test_owned_pools_honour_proxy_environment(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], proxied: bool
) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    async with AsyncSunmiFace(APP_ID, APP_KEY, sunmi_shop_no=SHOP_NO, max_connections=8) as api:
        pools = [pool._pool for pool in api._transport.connections.pools]  # type: ignore[attr-defined]
        assert all(isinstance(p, httpcore.AsyncHTTPProxy) == proxied for p in pools)


async def test_requests_beyond_the_connections_wait_at_the_gate(router: respx.MockRouter) -> None:
    """Owned pools never see more requests than they have connections: the rest queue in
    an O(1) gate, not in httpcore's pool (a naive gather over many calls stays fast)."""
    router.post("/face/getInfo").mock(return_value=ok({"face_id": "1"}))
    async with AsyncSunmiFace(
        APP_ID, APP_KEY, sunmi_shop_no=SHOP_NO, base_url=BASE_URL, max_connections=6
    ) as api:
        inside = peak = 0

        def counting(send: Callable[..., Any]) -> Callable[..., Any]:
            async def wrapper(request: httpx.Request) -> httpx.Response:
                nonlocal inside, peak
                inside += 1
                peak = max(peak, inside)
                await anyio.sleep(0.01)
                try:
                    response: httpx.Response = await send(request)
                    return response
                finally:
                    inside -= 1

            return wrapper

        for pool in api._transport.connections.pools:
            pool.handle_async_request = counting(pool.handle_async_request)  # type: ignore[method-assign]
        async with anyio.create_task_group() as tg:
            for _ in range(40):
                tg.start_soon(api.faces.get, "1")
    assert peak == 6
