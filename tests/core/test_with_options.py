"""``with_options`` gives a client with its own timeout, retry policy and deadline over the
same connections (not an owner, chaining with ``with_shop`` both ways); ``RetryPolicy.none()``
and ``SUNMI_RETRIES=0`` turn retries off."""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx
import pytest
import respx

from sunmi_face_async import (
    AsyncSunmiFace,
    ClientClosedError,
    DeadlineExceededError,
    RequestTimeout,
    RetryPolicy,
    ServerError,
    ValidationError,
)
from tests._backends import BACKENDS
from tests.hostile._loopback import Loopback, server_error, serving, slow_ok

from .helpers import APP_ID, APP_KEY, BASE_URL, SHOP_NO, fail, form_fields, ok

MARGIN = 1.5


def _loopback_client(server: Loopback, **options: Any) -> AsyncSunmiFace:
    return AsyncSunmiFace(
        APP_ID, APP_KEY, sunmi_shop_no=SHOP_NO, base_url=server.base_url(), **options
    )


async def test_the_options_client_shares_the_connections_and_owns_none() -> None:
    async with serving(slow_ok(0)) as server:
        parent = _loopback_client(server)
        child = parent.with_options(deadline=5.0, timeout=3.0)
        assert await child.groups.list() == []
        await child.aclose()  # not an owner: the connections stay open
        assert await parent.groups.list() == []
        assert server.accepted == 1  # both calls went over the one connection
        await parent.aclose()
        with pytest.raises(ClientClosedError) as caught:
            await child.groups.list()
    assert caught.value.sent is False


async def test_options_and_shop_chain_in_either_order(
    router: respx.MockRouter, client: AsyncSunmiFace
) -> None:
    route = router.post("/face/group/getList").mock(return_value=ok({"group_list": []}))
    policy = RetryPolicy(max_attempts=2)
    one = client.with_shop(sunmi_shop_no="S2").with_options(deadline=4.0, retry=policy)
    two = client.with_options(deadline=4.0, retry=policy).with_shop(sunmi_shop_no="S2")
    for api in (one, two):
        assert (api.deadline, api.retry, dict(api.shop)) == (4.0, policy, {"sunmi_shop_no": "S2"})
        await api.groups.list()
    assert [form_fields(call.request)["sunmi_shop_no"] for call in route.calls] == ["S2", "S2"]
    # The parent keeps its own options.
    assert client.deadline is None
    assert client.retry.max_attempts == 4
    assert client.with_options(deadline=4.0).with_options(deadline=None).deadline is None


async def test_the_retry_option_replaces_the_policy(
    router: respx.MockRouter, client: AsyncSunmiFace
) -> None:
    route = router.post("/face/getInfo").mock(return_value=fail(5000))
    with pytest.raises(ServerError):
        await client.with_options(retry=RetryPolicy.none()).faces.get("1")
    assert route.call_count == 1
    with pytest.raises(ServerError):
        await client.faces.get("1")  # the parent still retries
    assert route.call_count == 1 + 4


async def test_the_timeout_option_bounds_each_attempt() -> None:
    async with serving(slow_ok(5.0)) as server, _loopback_client(server, timeout=30) as client:
        api = client.with_options(timeout=0.5, retry=RetryPolicy.none())
        assert api.timeout == 0.5
        assert client.timeout == 30
        started = time.monotonic()
        with anyio.fail_after(10), pytest.raises(RequestTimeout) as caught:
            await api.groups.list()
        elapsed = time.monotonic() - started
    assert not isinstance(caught.value, DeadlineExceededError)  # an attempt ran out
    assert elapsed <= 0.5 + MARGIN


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"timeout": 0}, "timeout"),
        ({"timeout": "5"}, "timeout"),
        ({"retry": 3}, "retry"),
        ({"deadline": -1}, "deadline"),
    ],
)
def test_bad_options_are_refused_naming_the_option(
    client: AsyncSunmiFace, options: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        client.with_options(**options)
    assert caught.value.field == field


def test_retry_policy_none_is_one_attempt() -> None:
    assert RetryPolicy.none().max_attempts == 1


async def test_sunmi_retries_0_turns_retries_off_for_every_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SUNMI_RETRIES", "0")
    async with serving(server_error) as server:
        persistent = RetryPolicy(max_attempts=6, backoff_base=0, total=20.0)
        async with _loopback_client(server, retry=persistent) as client:
            assert client.retry.max_attempts == 1
            assert client.retry.total == 20.0
            with pytest.raises(ServerError):
                await client.groups.list()
            with pytest.raises(ServerError):
                await client.with_options(retry=persistent).groups.list()
    assert server.requests == 2  # one attempt per call, whatever the policy said


@pytest.mark.parametrize("value", ["no", "2", "false"])
def test_a_bad_sunmi_retries_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("SUNMI_RETRIES", value)
    with pytest.raises(ValidationError) as caught:
        AsyncSunmiFace(
            APP_ID,
            APP_KEY,
            sunmi_shop_no=SHOP_NO,
            base_url=BASE_URL,
            transport=httpx.MockTransport(lambda request: httpx.Response(500)),
        )
    assert caught.value.field == "SUNMI_RETRIES"
    assert repr(value) in str(caught.value)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_per_call_timeout_longer_than_the_clients_is_honoured(backend: str) -> None:
    # The client reads for at most 1 s; the view allows 4 s, so a 2 s answer arrives (on
    # aiohttp each read stayed bounded by the client's 1 s: RequestTimeout after retries).
    async with (
        serving(slow_ok(2.0)) as server,
        _loopback_client(server, timeout=1.0, backend=backend) as client,
    ):
        with anyio.fail_after(10):
            assert await client.with_options(timeout=4.0).groups.list() == []
        assert server.requests == 1


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_per_call_read_timeout_shorter_than_the_clients_is_honoured(
    backend: str,
) -> None:
    # connect and write may take 5 s, but a read only 0.5 s: a 5 s server times out at once.
    timeout = httpx.Timeout(5.0, read=0.5)
    async with serving(slow_ok(5.0)) as server, _loopback_client(server, backend=backend) as c:
        started = time.monotonic()
        with anyio.fail_after(10), pytest.raises(RequestTimeout) as caught:
            await c.with_options(timeout=timeout, retry=RetryPolicy.none()).groups.list()
        elapsed = time.monotonic() - started
    assert elapsed < 0.5 + MARGIN
    assert caught.value.sent is True


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_per_call_pool_timeout_bounds_the_wait_for_a_connection(backend: str) -> None:
    # The only connection is busy for 5 s; the view waits 0.5 s for it (it waited up to its
    # 10 s attempt limit, got the connection after 5 s and answered at 10 s).
    async with (
        serving(slow_ok(5.0)) as server,
        _loopback_client(server, max_connections=1, backend=backend) as client,
        anyio.create_task_group() as group,
    ):
        group.start_soon(client.groups.list)
        with anyio.fail_after(5):
            while server.requests == 0:
                await anyio.sleep(0.01)
        view = client.with_options(timeout=httpx.Timeout(10.0, pool=0.5), retry=RetryPolicy.none())
        started = time.monotonic()
        with anyio.fail_after(10), pytest.raises(RequestTimeout) as caught:
            await view.faces.get("1")
        elapsed = time.monotonic() - started
        group.cancel_scope.cancel()
    assert elapsed < 0.5 + MARGIN
    assert caught.value.sent is False
    assert "no connection was free within 0.5 s" in str(caught.value)
    assert server.requests == 1
