"""An attempt has a total time limit, and a request waiting for a connection honours the
pool timeout: real loopback servers that trickle, stream for ever or never answer cannot hold
a call past its timeout, under asyncio and trio."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
import pytest

from sunmi_face_async import AsyncSunmiFace, RequestTimeout, RetryPolicy

from ._loopback import Behaviour, Loopback, endless_chunks, serving, silent, slow_ok, trickle

KEY = "deadline-test-key-0123456789"
JPEG = b"\xff\xd8\xff\xe0" + bytes(2000)
TIMEOUT = 2.0
MARGIN = 1.5  # generous: the machine is shared and noisy
ONE_ATTEMPT = RetryPolicy(max_attempts=1)


def _client(server: Loopback, **options: Any) -> AsyncSunmiFace:
    options.setdefault("retry", ONE_ATTEMPT)
    options.setdefault("timeout", TIMEOUT)
    return AsyncSunmiFace(
        "DEADLINEAPP", KEY, sunmi_shop_no="560279010307", base_url=server.base_url(), **options
    )


Call = Callable[[AsyncSunmiFace], Awaitable[object]]
CALLS: dict[str, Call] = {
    "form call": lambda api: api.groups.list(),
    "faces.add": lambda api: api.faces.add("1", pic=JPEG, name="Mike"),
}
SERVERS: dict[str, Behaviour] = {
    "a byte a second": trickle,
    "an endless slow chunked body": endless_chunks,
    "no answer at all": silent,
}


async def _timed_out_call(behaviour: Behaviour, call: Call) -> tuple[float, RequestTimeout, int]:
    async with serving(behaviour) as server, _client(server) as api:
        started = time.monotonic()
        with anyio.fail_after(30):  # the test's own bound: a hang fails instead of blocking
            try:
                await call(api)
            except RequestTimeout as exc:
                return time.monotonic() - started, exc, server.requests
        raise AssertionError("the call succeeded against a server that never answers")


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("server", SERVERS)
def test_an_attempt_ends_within_its_timeout(server: str, call: str) -> None:
    elapsed, error, requests = anyio.run(_timed_out_call, SERVERS[server], CALLS[call])
    assert elapsed < TIMEOUT + MARGIN
    assert requests == 1
    # The request was written before the answer stalled: it may have been applied.
    assert error.sent is True
    assert error.outcome_unknown is True
    assert "the outcome is unknown" in str(error)


@pytest.mark.parametrize(
    ("server", "call"),
    [("a byte a second", "form call"), ("an endless slow chunked body", "faces.add")],
)
def test_an_attempt_ends_within_its_timeout_under_trio(server: str, call: str) -> None:
    elapsed, error, requests = anyio.run(
        _timed_out_call, SERVERS[server], CALLS[call], backend="trio"
    )
    assert elapsed < TIMEOUT + MARGIN
    assert requests == 1
    assert error.sent is True


def test_a_whole_call_ends_within_the_retry_policys_bound() -> None:
    """A read is retried after an unknown outcome; all attempts together stay bounded."""
    policy = RetryPolicy(max_attempts=3, backoff_base=0.05, backoff_cap=0.1)
    timeout = 1.5  # above the trickle's 1 s gaps, so only the total limit can end an attempt

    async def scenario() -> tuple[float, RequestTimeout, int]:
        async with (
            serving(trickle) as server,
            _client(server, retry=policy, timeout=timeout) as api,
        ):
            started = time.monotonic()
            with anyio.fail_after(30), pytest.raises(RequestTimeout) as caught:
                await api.groups.list()
            return time.monotonic() - started, caught.value, server.requests

    elapsed, error, requests = anyio.run(scenario)
    assert requests == 3
    # 3 attempts of at most 1.5 s each (the pool is free) and 2 waits of at most 0.1 s.
    assert policy.longest_call(attempt=timeout, pool_wait=0.0) == pytest.approx(3 * 1.5 + 2 * 60)
    assert elapsed < 3 * timeout + 2 * 0.1 + MARGIN
    assert error.sent is True


async def _pool_wait() -> tuple[float, RequestTimeout, int]:
    timeout = httpx.Timeout(10.0, pool=0.3)
    async with (
        serving(slow_ok(3.0)) as server,
        _client(server, timeout=timeout, max_connections=1) as api,
        anyio.create_task_group() as group,
    ):
        group.start_soon(api.groups.list)  # holds the only connection for 3 s
        with anyio.fail_after(5):
            while server.requests == 0:
                await anyio.sleep(0.01)
        started = time.monotonic()
        with anyio.fail_after(10), pytest.raises(RequestTimeout) as caught:
            await api.groups.list()
        elapsed = time.monotonic() - started
        group.cancel_scope.cancel()
    return elapsed, caught.value, server.requests


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_request_waiting_for_a_connection_honours_the_pool_timeout(backend: str) -> None:
    elapsed, error, requests = anyio.run(_pool_wait, backend=backend)
    assert elapsed < 0.3 + 1.0
    assert error.sent is False
    assert error.outcome_unknown is False
    assert "the request was not sent" in str(error)
    assert requests == 1  # only the call that held the connection reached the server


def test_a_stalled_tls_handshake_ends_not_sent() -> None:
    """The server takes the connection but never answers the handshake: nothing was written,
    so the timeout says the request was not sent, whichever limit fires first."""

    async def scenario() -> tuple[float, RequestTimeout, int]:
        async with serving(silent) as server:
            base_url = server.base_url().replace("http://", "https://")
            async with AsyncSunmiFace(
                "DEADLINEAPP",
                KEY,
                sunmi_shop_no="560279010307",
                base_url=base_url,
                timeout=TIMEOUT,
                retry=ONE_ATTEMPT,
            ) as api:
                started = time.monotonic()
                with anyio.fail_after(30), pytest.raises(RequestTimeout) as caught:
                    await api.faces.add("1", pic=JPEG)
                return time.monotonic() - started, caught.value, server.accepted

    elapsed, error, accepted = anyio.run(scenario)
    assert accepted == 1
    assert elapsed < TIMEOUT + MARGIN
    assert error.sent is False


def test_a_callers_client_is_bounded_by_its_own_timeout() -> None:
    """With ``http_client``, that client's timeout sizes the limit; its pool wait happens
    inside the exchange, so the limit is its pool timeout plus its largest other one."""

    async def scenario() -> tuple[float, RequestTimeout]:
        async with serving(trickle) as server, httpx.AsyncClient(timeout=1.5) as mine:
            api = AsyncSunmiFace(
                "DEADLINEAPP",
                KEY,
                sunmi_shop_no="560279010307",
                base_url=server.base_url(),
                retry=ONE_ATTEMPT,
                http_client=mine,
            )
            started = time.monotonic()
            with anyio.fail_after(30), pytest.raises(RequestTimeout) as caught:
                await api.groups.list()
            return time.monotonic() - started, caught.value

    elapsed, error = anyio.run(scenario)
    assert elapsed < 1.5 + 1.5 + MARGIN
    assert error.sent is True
