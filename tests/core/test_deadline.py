"""A call's deadline bounds it with all its retries, against real loopback servers: an attempt
in flight is cut off when the deadline comes, no retry starts that could not end before it,
and the error says the deadline ran out (``DeadlineExceededError``, a ``RequestTimeout``)."""

from __future__ import annotations

import importlib.util
import time
from typing import Any

import anyio
import pytest

from sunmi_face_async import (
    AsyncSunmiFace,
    DeadlineExceededError,
    RequestTimeout,
    RetryPolicy,
    ServerError,
    ThrottledError,
    ValidationError,
)
from tests.hostile._loopback import Loopback, Stream, server_error, serving, slow_ok

from .helpers import JPEG

KEY = "deadline-call-key-0123456789"
MARGIN = 1.5  # generous: the machine is shared and noisy
FIVE_SECONDS = slow_ok(5.0)


def _client(server: Loopback, **options: Any) -> AsyncSunmiFace:
    return AsyncSunmiFace(
        "DEADLINEAPP", KEY, sunmi_shop_no="560279010307", base_url=server.base_url(), **options
    )


def _steady(base: float) -> RetryPolicy:
    """Waits of exactly base, 2 * base, 4 * base... (no jitter), up to 10 attempts."""
    return RetryPolicy(max_attempts=10, backoff_base=base, backoff_cap=60, jitter=lambda up: up)


BACKENDS = [
    "httpx",
    pytest.param(
        "aiohttp",
        marks=pytest.mark.skipif(
            importlib.util.find_spec("aiohttp") is None, reason="the [aiohttp] extra is missing"
        ),
    ),
]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_one_second_deadline_ends_a_call_to_a_five_second_server_in_one_second(
    backend: str,
) -> None:
    async with serving(FIVE_SECONDS) as server, _client(server, backend=backend) as client:
        api = client.with_options(deadline=1.0)
        started = time.monotonic()
        with anyio.fail_after(10), pytest.raises(DeadlineExceededError) as caught:
            await api.groups.list()
        elapsed = time.monotonic() - started
    error = caught.value
    assert 0.9 <= elapsed <= 1.0 + MARGIN
    assert isinstance(error, RequestTimeout)
    assert (error.deadline, error.attempts, error.last_error) == (1.0, 1, None)
    assert error.sent is True
    assert error.outcome_unknown is True
    assert "the call's 1 s deadline ran out during attempt 1" in str(error)
    assert str(error).endswith("; the outcome is unknown")
    assert server.requests == 1


async def test_an_upload_cut_by_its_deadline_is_outcome_unknown() -> None:
    async with serving(FIVE_SECONDS) as server, _client(server) as client:
        with anyio.fail_after(10), pytest.raises(DeadlineExceededError) as caught:
            await client.with_options(deadline=0.5).faces.add("1", pic=JPEG, name="Mike")
    assert caught.value.outcome_unknown is True
    assert caught.value.endpoint == "/face/add"


async def test_a_retrying_call_stops_before_its_deadline() -> None:
    # HTTP 500 at once; waits of 0.4 and 0.8 s put attempts at 0, 0.4 and 1.2 s; the next
    # wait (1.6 s) would end past the 2 s deadline, so the call ends at ~1.2 s, not at 2 s.
    async with serving(server_error) as server, _client(server, retry=_steady(0.4)) as client:
        started = time.monotonic()
        with anyio.fail_after(10), pytest.raises(DeadlineExceededError) as caught:
            await client.with_options(deadline=2.0).groups.list()
        elapsed = time.monotonic() - started
    error = caught.value
    assert 1.2 <= elapsed < 2.0
    assert server.requests == 3
    assert error.attempts == 3
    assert isinstance(error.last_error, ServerError)
    assert error.__cause__ is error.last_error
    assert error.sent is False  # every attempt was answered "failed": nothing was applied
    assert "the call's 2 s deadline leaves no time to retry after attempt 3" in str(error)


async def test_the_retry_policy_total_bounds_a_call_like_a_deadline() -> None:
    policy = RetryPolicy(max_attempts=10, backoff_base=0.4, jitter=lambda up: up, total=2.0)
    async with serving(server_error) as server, _client(server, retry=policy) as client:
        started = time.monotonic()
        with anyio.fail_after(10), pytest.raises(DeadlineExceededError) as caught:
            await client.groups.list()
        elapsed = time.monotonic() - started
    assert elapsed < 2.0
    assert server.requests == 3
    assert "the call's retry policy's 2 s total leaves no time to retry" in str(caught.value)


async def test_the_smaller_of_deadline_and_total_applies() -> None:
    policy = RetryPolicy(total=30.0)
    async with serving(FIVE_SECONDS) as server, _client(server, retry=policy) as client:
        with anyio.fail_after(10), pytest.raises(DeadlineExceededError) as caught:
            await client.with_options(deadline=0.5).groups.list()
    assert caught.value.deadline == 0.5


async def test_a_retry_after_longer_than_the_time_left_is_not_waited_for() -> None:
    async def throttle(server: Loopback, stream: Stream, request: bytes) -> bool:
        body = b'{"code": 429, "msg": "slow down", "data": null}'
        head = f"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 5\r\nContent-Length: {len(body)}"
        await stream.send(head.encode() + b"\r\n\r\n" + body)
        return True

    async with serving(throttle) as server, _client(server) as client:
        started = time.monotonic()
        with anyio.fail_after(10), pytest.raises(DeadlineExceededError) as caught:
            await client.with_options(deadline=1.0).groups.list()
        elapsed = time.monotonic() - started
    assert elapsed < 1.0
    assert server.requests == 1
    assert isinstance(caught.value.last_error, ThrottledError)
    assert caught.value.last_error.retry_after == 5.0


async def test_the_deadline_bounds_the_wait_for_a_free_connection() -> None:
    async with (
        serving(FIVE_SECONDS) as server,
        _client(server, max_connections=1) as client,
        anyio.create_task_group() as group,
    ):
        group.start_soon(client.groups.list)  # holds the only connection for 5 s
        while server.requests == 0:
            await anyio.sleep(0.01)
        started = time.monotonic()
        with anyio.fail_after(10), pytest.raises(DeadlineExceededError) as caught:
            await client.with_options(deadline=0.5).faces.get("1")
        elapsed = time.monotonic() - started
        group.cancel_scope.cancel()
    assert elapsed <= 0.5 + MARGIN
    assert caught.value.sent is False  # it never got a connection
    assert server.requests == 1


async def test_a_call_that_fits_its_deadline_is_untouched() -> None:
    async with serving(slow_ok(0.2)) as server, _client(server) as client:
        with anyio.fail_after(10):
            assert await client.with_options(deadline=3.0).groups.list() == []
    assert server.requests == 1


def test_the_deadline_holds_under_trio() -> None:
    async def main() -> float:
        async with serving(FIVE_SECONDS) as server, _client(server) as client:
            started = time.monotonic()
            with anyio.fail_after(10), pytest.raises(DeadlineExceededError):
                await client.with_options(deadline=0.5).groups.list()
            return time.monotonic() - started

    assert anyio.run(main, backend="trio") <= 0.5 + MARGIN


@pytest.mark.parametrize("bad", [0, -1, float("inf"), float("nan"), True, "1"])
async def test_a_bad_deadline_is_refused_naming_it(bad: object) -> None:
    async with serving(FIVE_SECONDS) as server, _client(server) as client:
        with pytest.raises(ValidationError) as caught:
            client.with_options(deadline=bad)  # type: ignore[arg-type]
    assert caught.value.field == "deadline"


@pytest.mark.parametrize("bad", [0, -2, float("inf"), float("nan")])
def test_a_bad_total_is_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="total must be a positive, finite number"):
        RetryPolicy(total=bad)


async def _short_then_slow(server: Loopback, stream: Stream, request: bytes) -> bool:
    """The first request is answered after 0.8 s, every later one after 5 s."""
    return await slow_ok(0.8 if server.requests == 1 else 5.0)(server, stream, request)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_time_spent_waiting_for_a_connection_counts_against_the_deadline(
    backend: str,
) -> None:
    # The only connection is busy for 0.8 s; the call then gets it and meets a 5 s server.
    # The 1 s deadline still ends the call at ~1 s (it was 1.8 s: the wait was not counted).
    async with (
        serving(_short_then_slow) as server,
        _client(server, max_connections=1, backend=backend) as client,
        anyio.create_task_group() as group,
    ):
        group.start_soon(client.groups.list)
        with anyio.fail_after(5):
            while server.requests == 0:
                await anyio.sleep(0.01)
        started = time.monotonic()
        with anyio.fail_after(10), pytest.raises(DeadlineExceededError) as caught:
            await client.with_options(deadline=1.0).faces.get("1")
        elapsed = time.monotonic() - started
        group.cancel_scope.cancel()
    assert 0.9 <= elapsed < 1.4
    assert server.requests == 2
    assert caught.value.sent is True  # it was written before the deadline cut it off


async def test_an_attempt_the_deadline_cut_after_a_wait_for_a_connection_says_so() -> None:
    # The attempt's own 1 s limit fit the 1.5 s deadline when the call began; 0.8 s spent
    # waiting for the connection made the deadline the nearer end, and it cut the upload:
    # DeadlineExceededError (it was a bare RequestTimeout, the attempt's own).
    async with (
        serving(_short_then_slow) as server,
        _client(server, max_connections=1, timeout=1.0) as client,
        anyio.create_task_group() as group,
    ):
        group.start_soon(client.groups.list)
        with anyio.fail_after(5):
            while server.requests == 0:
                await anyio.sleep(0.01)
        started = time.monotonic()
        with anyio.fail_after(10), pytest.raises(DeadlineExceededError) as caught:
            await client.with_options(deadline=1.5).faces.add("1", pic=JPEG, name="Mike")
        elapsed = time.monotonic() - started
        group.cancel_scope.cancel()
    assert 1.4 <= elapsed < 1.5 + MARGIN
    assert caught.value.outcome_unknown is True
    assert "the call's 1.5 s deadline ran out during attempt 1" in str(caught.value)
