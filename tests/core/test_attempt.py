"""How a cut-off attempt is classified from the phases httpcore reported (pure logic)."""

from __future__ import annotations

import anyio
import httpx
import pytest

from sunmi_face_async._attempt import Closed, DeadlineExceeded, Progress, attempt_limit


async def _replay(progress: Progress, events: list[str]) -> None:
    for event in events:
        await progress.trace(event, {})


CASES = [
    # (owned pools report phases, events seen, entered the exchange, may have been sent)
    (True, [], False, False),  # still waiting for a connection
    (True, [], True, False),
    (True, ["connection.connect_tcp.started"], True, False),
    (True, ["connection.connect_tcp.complete", "connection.start_tls.started"], True, False),
    (True, ["http11.send_request_headers.started"], True, True),
    (
        True,
        ["http11.send_request_headers.complete", "http11.send_request_body.started"],
        True,
        True,
    ),
    (True, ["http2.send_request_headers.started"], True, True),
    (False, [], True, True),  # a transport that reports nothing: in doubt, maybe sent
    (False, ["connection.connect_tcp.started"], True, False),
    (False, [], False, False),
]


@pytest.mark.parametrize(("traced", "events", "started", "expected"), CASES)
def test_maybe_sent(traced: bool, events: list[str], started: bool, expected: bool) -> None:
    progress = Progress(traced=traced)
    anyio.run(_replay, progress, events)
    progress.started = started
    assert progress.maybe_sent is expected


@pytest.mark.parametrize(
    ("timeout", "expected"),
    [
        (httpx.Timeout(2.0), 2.0),
        (httpx.Timeout(5.0, connect=1.0, read=7.0, write=3.0, pool=60.0), 7.0),  # pool apart
        (httpx.Timeout(5.0, read=None), None),  # no read limit: no total limit either
    ],
)
def test_attempt_limit(timeout: httpx.Timeout, expected: float | None) -> None:
    assert attempt_limit(timeout) == expected


async def _connect_then_write(progress: Progress, pause: float) -> None:
    with anyio.move_on_after(0.05) as scope:
        progress.run_within(scope, 0.05)
        await progress.trace("connection.connect_tcp.started", {})
        assert scope.deadline >= anyio.current_time() + 1.0  # the connect phase is not cut off
        await anyio.sleep(pause)  # the connection takes longer than the attempt's limit
        await progress.trace("connection.connect_tcp.complete", {})
        await progress.trace("http11.send_request_headers.started", {})


def test_an_attempt_overdue_once_connected_stops_before_writing() -> None:
    progress = Progress(traced=True, connect_timeout=1.0)
    with pytest.raises(DeadlineExceeded) as caught:
        anyio.run(_connect_then_write, progress, 0.1)
    assert caught.value.sent is False
    assert progress.written is False


def test_an_attempt_in_time_goes_on_under_its_own_deadline() -> None:
    progress = Progress(traced=True, connect_timeout=1.0)
    anyio.run(_connect_then_write, progress, 0.0)
    assert progress.written is True
    assert progress.scope is not None
    assert progress.scope.deadline == progress.deadline  # restored after the connect phase


async def _close_while_connecting(progress: Progress) -> None:
    with anyio.CancelScope() as scope:
        progress.run_within(scope, None)
        await progress.trace("connection.start_tls.started", {})
        progress.interrupt(scope)  # what aclose does
        assert not scope.cancel_called  # a cancellation now would leak the half-open socket
        await progress.trace("connection.start_tls.complete", {})
        await progress.trace("http11.send_request_headers.started", {})


def test_closing_while_connecting_stops_once_connected() -> None:
    progress = Progress(traced=True, connect_timeout=1.0)
    with pytest.raises(Closed) as caught:
        anyio.run(_close_while_connecting, progress)
    assert caught.value.sent is False
