"""``on_attempt`` hooks get one ``AttemptRecord`` per attempt (endpoint, attempt, status, code,
latency, sent / outcome unknown, error class); a failing hook is logged and never breaks the
call."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest
import respx

from sunmi_face_async import (
    AsyncSunmiFace,
    AttemptRecord,
    DatabaseError,
    RequestTimeout,
    RetryPolicy,
    TransportError,
    ValidationError,
)
from tests._backends import BACKENDS
from tests.hostile._loopback import serving, slow_ok

from .helpers import APP_ID, APP_KEY, BASE_URL, JPEG, SHOP_NO, Sleeps, fail, ok


def _client(handler: Callable[[httpx.Request], Any], **options: Any) -> AsyncSunmiFace:
    options.setdefault("retry", RetryPolicy(sleep=Sleeps(), jitter=lambda up: 0.0))
    return AsyncSunmiFace(
        APP_ID,
        APP_KEY,
        sunmi_shop_no=SHOP_NO,
        base_url=BASE_URL,
        transport=httpx.MockTransport(handler),
        **options,
    )


def _fields(record: AttemptRecord) -> tuple[Any, ...]:
    return (
        record.endpoint,
        record.attempt,
        record.http_status,
        record.code,
        record.sent,
        record.outcome_unknown,
        record.error,
    )


async def test_one_record_per_attempt(router: respx.MockRouter) -> None:
    router.post("/face/getInfo").mock(side_effect=[fail(5000), ok({"face_id": "1"})])
    records: list[AttemptRecord] = []
    async with _client(router.async_handler, on_attempt=records.append) as client:
        await client.faces.get("1")
    assert [_fields(r) for r in records] == [
        ("/face/getInfo", 1, 200, 5000, True, False, "DatabaseError"),
        ("/face/getInfo", 2, 200, 0, True, False, None),
    ]
    assert all(0 <= r.latency < 5 for r in records)


async def test_failures_say_whether_the_request_may_have_reached_the_server() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    def time_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    records: list[AttemptRecord] = []
    async with _client(refuse, on_attempt=records.append, retry=RetryPolicy.none()) as client:
        with pytest.raises(TransportError):
            await client.groups.list()
    async with _client(time_out, on_attempt=[records.append]) as client:
        with pytest.raises(RequestTimeout):
            await client.faces.add("g", pic=JPEG)  # an add is never repeated after a timeout
    assert [_fields(r) for r in records] == [
        ("/face/group/getList", 1, None, None, False, False, "TransportError"),
        ("/face/add", 1, None, None, True, True, "RequestTimeout"),
    ]


async def test_every_hook_is_called_and_clones_share_them(router: respx.MockRouter) -> None:
    router.post("/face/group/getList").mock(return_value=ok({"group_list": []}))
    first: list[AttemptRecord] = []
    second: list[AttemptRecord] = []
    async with _client(router.async_handler, on_attempt=[first.append, second.append]) as client:
        await client.with_shop(sunmi_shop_no="S2").with_options(deadline=5).groups.list()
    assert len(first) == len(second) == 1
    assert first == second


async def test_a_failing_hook_is_logged_and_the_call_goes_on(
    router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    router.post("/face/getInfo").mock(side_effect=[fail(5000), fail(5000)])
    calls: list[int] = []

    def broken(record: AttemptRecord) -> None:
        calls.append(record.attempt)
        raise ZeroDivisionError("metrics backend down")

    caplog.set_level(logging.WARNING, logger="sunmi_face_async")
    async with _client(
        router.async_handler, on_attempt=broken, retry=RetryPolicy(max_attempts=2, sleep=Sleeps())
    ) as client:
        with pytest.raises(DatabaseError):  # the call's own error, not the hook's
            await client.faces.get("1")
    assert calls == [1, 2]
    warnings = [r for r in caplog.records if r.name == "sunmi_face_async"]
    assert len(warnings) == 2
    assert "on_attempt hook" in warnings[0].getMessage()
    assert "broken" in warnings[0].getMessage()
    assert "ZeroDivisionError" in warnings[0].getMessage()


async def _async_hook(record: AttemptRecord) -> None:
    return None


@pytest.mark.parametrize("hook", [_async_hook, "print", [print, 3]])
def test_a_hook_that_cannot_be_called_synchronously_is_refused(hook: object) -> None:
    with pytest.raises(ValidationError) as caught:
        _client(lambda request: httpx.Response(200), on_attempt=hook)
    assert caught.value.field == "on_attempt"


@pytest.mark.parametrize("backend", BACKENDS)
async def test_an_attempt_cancelled_in_flight_is_recorded(backend: str) -> None:
    # The caller's own timeout cancels the call while the server holds the request: that
    # attempt may have been applied, and its record says so (there was none at all).
    records: list[AttemptRecord] = []
    async with (
        serving(slow_ok(5.0)) as server,
        AsyncSunmiFace(
            APP_ID,
            APP_KEY,
            sunmi_shop_no=SHOP_NO,
            base_url=server.base_url(),
            backend=backend,
            on_attempt=records.append,
        ) as client,
    ):
        with anyio.move_on_after(0.5):
            await client.faces.add("1", pic=JPEG, name="Mike")
        assert server.requests == 1
    assert len(records) == 1
    record = records[0]
    assert (record.endpoint, record.attempt, record.http_status, record.code) == (
        "/face/add",
        1,
        None,
        None,
    )
    assert (record.sent, record.outcome_unknown) == (True, True)
    assert record.error == "CancelledError"
    assert 0.4 <= record.latency < 0.5 + 1.5


async def test_an_attempt_cancelled_before_it_got_a_connection_is_recorded_not_sent() -> None:
    records: list[AttemptRecord] = []
    async with (
        serving(slow_ok(5.0)) as server,
        AsyncSunmiFace(
            APP_ID,
            APP_KEY,
            sunmi_shop_no=SHOP_NO,
            base_url=server.base_url(),
            max_connections=1,
            on_attempt=records.append,
        ) as client,
        anyio.create_task_group() as group,
    ):
        group.start_soon(client.groups.list)  # holds the only connection
        with anyio.fail_after(5):
            while server.requests == 0:
                await anyio.sleep(0.01)
        with anyio.move_on_after(0.3):
            await client.faces.get("1")
        group.cancel_scope.cancel()
    mine = [record for record in records if record.endpoint == "/face/getInfo"]
    assert len(mine) == 1
    assert (mine[0].sent, mine[0].outcome_unknown, mine[0].error) == (
        False,
        False,
        "CancelledError",
    )


async def test_the_debug_log_shows_an_attempt_cancelled_in_flight(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No hooks and no opentelemetry: the debug line alone tells the cancelled attempt was sent.
    monkeypatch.setattr("sunmi_face_async._tracing._trace", None)
    async with (
        serving(slow_ok(5.0)) as server,
        AsyncSunmiFace(APP_ID, APP_KEY, sunmi_shop_no=SHOP_NO, base_url=server.base_url()) as c,
    ):
        with caplog.at_level(logging.DEBUG, logger="sunmi_face_async"), anyio.move_on_after(0.3):
            await c.groups.list()
        assert server.requests == 1
    lines = [r.getMessage() for r in caplog.records if "attempt=1" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].startswith("POST /face/group/getList attempt=1 http_status=- code=-")
