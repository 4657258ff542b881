"""Closing a client stops everything that shares it: calls in flight end, calls waiting for a
connection raise without being sent, calls waiting to retry end, nothing more reaches the
server and no socket stays open, as counted by a real loopback server."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import anyio
import pytest

from sunmi_face_async import (
    AsyncSunmiFace,
    ClientClosedError,
    RetryPolicy,
    SunmiError,
    TransportError,
)

from ._loopback import Loopback, server_error, serving, silent, slow_ok

KEY = "close-test-key-0123456789"


def _parent(server: Loopback, **options: object) -> AsyncSunmiFace:
    return AsyncSunmiFace(
        "CLOSEAPP",
        KEY,
        sunmi_shop_no="560279010300",
        base_url=server.base_url(),
        timeout=10.0,
        **options,  # type: ignore[arg-type]
    )


def _writes_started(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """When each request's first byte is about to be written (time.monotonic()), as the
    client's own trace says: the server, in the same event loop, may read a request written
    before aclose() only after aclose() returned, so its arrival times cannot tell."""
    from sunmi_face_async import _attempt

    starts: list[float] = []
    traced = _attempt.Progress.trace

    async def trace(self: _attempt.Progress, event: str, info: Mapping[str, Any]) -> None:
        await traced(self, event, info)  # raises when the attempt must stop before writing
        if "send_request_headers.started" in event:
            starts.append(time.monotonic())

    monkeypatch.setattr(_attempt.Progress, "trace", trace)
    return starts


async def _close_under_load(
    starts: list[float],
) -> tuple[list[BaseException | str], int, int, int]:
    async with serving(slow_ok(0.5)) as server:
        parent = _parent(server, max_connections=16)
        children = [parent.with_shop(sunmi_shop_no=f"56027901030{i}") for i in range(1, 6)]
        outcomes: list[BaseException | str] = []

        async def one(client: AsyncSunmiFace) -> None:
            try:
                await client.groups.list()
            except SunmiError as exc:
                outcomes.append(exc)
            else:
                outcomes.append("succeeded")

        with anyio.fail_after(20):
            async with anyio.create_task_group() as group:
                for index in range(50):
                    group.start_soon(one, children[index % 5])
                # Close once requests are on the wire (a loaded machine may take a while).
                while server.requests == 0:
                    await anyio.sleep(0.01)
                await anyio.sleep(0.05)
                closing = time.monotonic()
                await parent.aclose()
        await server.wait_closed(5.0)  # the issue measured 16 sockets still open 5 s later
        late = sum(1 for start in starts if start >= closing)
        return outcomes, server.requests, late, server.open


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_closing_the_parent_stops_every_child_and_leaves_no_socket(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    starts = _writes_started(monkeypatch)
    outcomes, received, late, still_open = anyio.run(_close_under_load, starts, backend=backend)
    assert len(outcomes) == 50
    assert [o for o in outcomes if not isinstance(o, ClientClosedError)] == []
    errors = [o for o in outcomes if isinstance(o, ClientClosedError)]
    in_flight = [e for e in errors if e.sent]
    queued = [e for e in errors if not e.sent]
    assert 0 < received <= 16  # at most one request per connection ever reached the server
    assert len(in_flight) >= received  # every request the server saw is reported as maybe sent
    assert len(queued) == 50 - len(in_flight) >= 34
    assert all("the request was not sent" in str(e) for e in queued)
    assert late == 0  # no request began to be written once aclose() was called
    assert received <= len(starts)  # what the server saw, the client wrote before that
    assert still_open == 0, f"{still_open} of {received} connections still open"


async def _close_during_a_retry_wait() -> tuple[float, BaseException, int]:
    # A 30 s wait before the retry (full jitter pinned at its top).
    policy = RetryPolicy(backoff_base=30.0, backoff_cap=30.0, jitter=lambda upper: upper)
    async with serving(server_error) as server:
        api = _parent(server, retry=policy)
        caught: list[BaseException] = []

        async def call() -> None:
            try:
                await api.groups.list()
            except SunmiError as exc:
                caught.append(exc)

        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(call)
                while server.requests == 0:
                    await anyio.sleep(0.01)
                await anyio.sleep(0.2)
                started = time.monotonic()
                await api.aclose()
        elapsed = time.monotonic() - started
        return elapsed, caught[0], server.requests


def test_closing_ends_a_call_waiting_to_retry() -> None:
    elapsed, error, requests = anyio.run(_close_during_a_retry_wait)
    assert elapsed < 2.0
    assert isinstance(error, ClientClosedError)
    assert requests == 1
    assert "while waiting to retry" in str(error)


async def test_a_closed_client_refuses_before_sending() -> None:
    async with serving(slow_ok(0.0)) as server:
        api = _parent(server)
        await api.aclose()
        with pytest.raises(ClientClosedError) as caught:
            await api.with_shop(sunmi_shop_no="1").groups.list()
        assert server.requests == 0
    assert isinstance(caught.value, TransportError)
    assert isinstance(caught.value, RuntimeError)  # what a closed client raised before
    assert caught.value.sent is False


async def _close_during_a_tls_handshake() -> tuple[float, BaseException, int, int]:
    async with serving(silent) as server:
        api = AsyncSunmiFace(
            "CLOSEAPP",
            KEY,
            sunmi_shop_no="560279010300",
            base_url=server.base_url().replace("http://", "https://"),
            timeout=1.5,
        )
        caught: list[BaseException] = []

        async def call() -> None:
            try:
                await api.groups.list()
            except SunmiError as exc:
                caught.append(exc)

        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(call)
                while server.accepted == 0:
                    await anyio.sleep(0.01)
                started = time.monotonic()
                await api.aclose()
        elapsed = time.monotonic() - started
        await server.wait_closed(2.0)
        return elapsed, caught[0], server.requests, server.open


def test_closing_during_a_tls_handshake_ends_the_call_without_leaking_its_socket() -> None:
    """A handshake is not cancelled (that would leak the half-open socket): the call ends
    when its connect timeout does, as closed and not sent, and the socket is closed."""
    elapsed, error, requests, still_open = anyio.run(_close_during_a_tls_handshake)
    assert isinstance(error, ClientClosedError)
    assert error.sent is False
    assert elapsed < 1.5 + 1.5
    assert requests == 0
    assert still_open == 0
