"""No secret in any signal: the debug log, the on_attempt records and the OpenTelemetry spans
of calls that succeed, retry, fail on the network and run out of their deadline hold neither
the app_key nor any request's sign."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from sunmi_face_async import AsyncSunmiFace, AttemptRecord, RetryPolicy, SunmiError

from .conftest import CANARY, Scanner

pytest.importorskip("opentelemetry.sdk.trace", reason="the [otel] test extra is not installed")

from tests._otel import span_recorder

JPEG = b"\xff\xd8\xff\xe0" + bytes(400)


async def _no_sleep(seconds: float) -> None:
    return None


class Gateway:
    """Answers in turn: a server error, a success, a dropped connection, then slowness; keeps
    every sign it was sent."""

    def __init__(self) -> None:
        self.signs: list[str] = []
        self.count = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        body = request.content
        if b"sign=" in body:
            self.signs.append(dict(parse_qsl(body.decode()))["sign"])
        else:  # multipart: the sign is a form field of its own
            part = body.split(b'name="sign"\r\n\r\n', 1)[1]
            self.signs.append(part.split(b"\r\n", 1)[0].decode())
        self.count += 1
        turn = self.count % 4
        if turn == 1:
            return httpx.Response(500, json={"code": 5000, "msg": "busy", "data": None})
        if turn == 2:
            return httpx.Response(200, json={"code": 0, "msg": "", "data": {"face_id": "1"}})
        if turn == 3:
            raise httpx.ConnectError("refused", request=request)
        raise httpx.ReadTimeout("slow", request=request)


async def test_logs_hook_records_and_spans_hold_no_secret(
    scanner: Scanner, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    spans = span_recorder()
    records: list[AttemptRecord] = []
    gateway = Gateway()
    async with AsyncSunmiFace(
        "CANARYAPP",
        CANARY,
        sunmi_shop_no="560279010307",
        transport=httpx.MockTransport(gateway),
        retry=RetryPolicy(max_attempts=2, sleep=_no_sleep),
        on_attempt=records.append,
    ) as client:
        calls: list[Any] = [
            lambda: client.faces.get("1"),
            lambda: client.with_options(deadline=5).faces.add("g", pic=JPEG, name="Mike"),
            lambda: client.groups.list(),
            lambda: client.faces.get("2"),
        ]
        for call in calls:
            try:
                await call()
            except SunmiError as exc:
                scanner.add_exception(exc)
    assert len(gateway.signs) >= 4
    assert len(records) == gateway.count
    scanner.add_records(caplog.records)
    for record in records:
        scanner.add("attempt record", repr(record))
    finished = [s for s in spans.get_finished_spans() if s.name.startswith("sunmi ")]
    assert len(finished) == len(calls)
    for span in finished:
        scanner.add(f"span {span.name}", span.to_json())
    spans.shutdown()
    scanner.assert_clean()
    signals = [(where, text) for where, text in scanner.texts if not where.startswith(_ERROR)]
    assert [where for where, text in signals if any(sign in text for sign in gateway.signs)] == []


# Where the scanner keeps the errors' texts: the sign is checked in the signals only (a frame's
# locals in a traceback hold the request body, whose sign is worthless once sent).
_ERROR = ("str(exc)", "repr(exc)", "vars(exc)", "traceback")
