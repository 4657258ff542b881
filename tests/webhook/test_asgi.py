"""callback_app: status codes, idempotent acknowledgement of duplicates, handler failures."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import httpx
import pytest
import trio

from sunmi_face_async.webhook import PushEvent, ReplayCache, callback_app

APP_KEY = "TESTSECRET0123456789"
NOW = 1_700_000_000
MakeForm = Callable[..., dict[str, str]]


class Recorder:
    """An async handler that records events and can be told to fail."""

    def __init__(self) -> None:
        self.events: list[PushEvent] = []
        self.failures_left = 0

    async def __call__(self, event: PushEvent) -> None:
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError("database is down")
        self.events.append(event)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def receiver(recorder: Recorder) -> AsyncIterator[httpx.AsyncClient]:
    app = callback_app(recorder, APP_KEY, clock=lambda: NOW)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver.test") as client:
        yield client


async def test_valid_callback_is_handled_once_and_acknowledged(
    receiver: httpx.AsyncClient, recorder: Recorder, make_form: MakeForm
) -> None:
    response = await receiver.post("/sunmi/push", data=make_form(payload={"face_id": "f1"}))
    assert response.status_code == 200
    assert response.json() == {"status": "processed"}
    assert [e.payload for e in recorder.events] == [{"face_id": "f1"}]
    assert recorder.events[0].event == 1001


async def test_exact_redelivery_is_acknowledged_without_handling(
    receiver: httpx.AsyncClient, recorder: Recorder, make_form: MakeForm
) -> None:
    form = make_form()
    statuses = [(await receiver.post("/", data=form)).json()["status"] for _ in range(5)]
    assert statuses == ["processed"] + ["duplicate"] * 4
    assert len(recorder.events) == 1


async def test_resigned_retry_of_the_same_event_is_a_duplicate(
    receiver: httpx.AsyncClient, recorder: Recorder, make_form: MakeForm
) -> None:
    first = await receiver.post("/", data=make_form(random="First123"))
    retry = await receiver.post("/", data=make_form(random="Retry456", timestamp=NOW - 15))
    other = await receiver.post("/", data=make_form(payload={"face_id": "other"}))
    assert [r.json()["status"] for r in (first, retry, other)] == [
        "processed",
        "duplicate",
        "processed",
    ]
    assert len(recorder.events) == 2


@pytest.mark.parametrize(
    ("form_kwargs", "changes", "status", "reason"),
    [
        ({"key": "ANOTHER-KEY"}, {}, 401, "bad_signature"),
        ({}, {"payload": '{"face_id":"forged"}'}, 401, "bad_signature"),
        ({"timestamp": NOW - 301}, {}, 401, "expired"),
        ({"timestamp": NOW + 301}, {}, 401, "expired"),
        ({}, {"event": ""}, 400, "malformed"),
        ({}, {"sign": ""}, 400, "malformed"),
    ],
)
async def test_refused_callbacks(
    receiver: httpx.AsyncClient,
    recorder: Recorder,
    make_form: MakeForm,
    form_kwargs: dict[str, Any],
    changes: dict[str, str],
    status: int,
    reason: str,
) -> None:
    response = await receiver.post("/", data={**make_form(**form_kwargs), **changes})
    assert response.status_code == status
    assert response.json() == {"status": "rejected", "reason": reason}
    assert recorder.events == []


async def test_http_level_refusals(
    receiver: httpx.AsyncClient, recorder: Recorder, make_form: MakeForm
) -> None:
    form = make_form()
    get = await receiver.get("/")
    assert (get.status_code, get.headers["allow"]) == (405, "POST")
    as_json = await receiver.post("/", json=form)
    assert as_json.status_code == 415
    huge = await receiver.post("/", data={**form, "pad": "x" * 300_000})
    assert huge.status_code == 413
    repeated = await receiver.post(
        "/",
        content=httpx.QueryParams(form).add("event", "1002").__str__(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert repeated.status_code == 400
    not_utf8 = await receiver.post(
        "/",
        content=b"event=\xff\xfe",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert not_utf8.status_code == 400
    assert recorder.events == []


async def test_streamed_body_over_the_limit_is_refused_without_content_length(
    recorder: Recorder,
) -> None:
    app = callback_app(recorder, APP_KEY, max_body=1000, clock=lambda: NOW)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"a" * 200

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://r.test") as client:
        response = await client.post(
            "/", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"}
        )
    assert response.status_code == 413


async def test_handler_failure_answers_500_and_the_retry_is_handled(
    receiver: httpx.AsyncClient,
    recorder: Recorder,
    make_form: MakeForm,
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder.failures_left = 1
    form = make_form()
    failed = await receiver.post("/", data=form)
    assert failed.status_code == 500
    assert "handler failed" in caplog.text
    assert APP_KEY not in caplog.text
    retried = await receiver.post("/", data=form)
    assert (retried.status_code, retried.json()["status"]) == (200, "processed")
    again = await receiver.post("/", data=form)
    assert again.json()["status"] == "duplicate"
    assert len(recorder.events) == 1


async def test_duplicate_arriving_during_handling_waits_and_is_not_handled_twice(
    make_form: MakeForm,
) -> None:
    release = anyio.Event()
    calls: list[PushEvent] = []

    async def slow_handler(event: PushEvent) -> None:
        calls.append(event)
        await release.wait()

    app = callback_app(slow_handler, APP_KEY, clock=lambda: NOW)
    transport = httpx.ASGITransport(app=app)
    statuses: list[str] = []
    async with httpx.AsyncClient(transport=transport, base_url="http://r.test") as client:

        async def deliver(random: str) -> None:
            response = await client.post("/", data=make_form(random=random))
            statuses.append(response.json()["status"])

        async with anyio.create_task_group() as tg:
            tg.start_soon(deliver, "First123")
            await anyio.wait_all_tasks_blocked()
            tg.start_soon(deliver, "Retry456")
            await anyio.wait_all_tasks_blocked()
            assert (len(calls), statuses) == (1, [])
            release.set()
    assert sorted(statuses) == ["duplicate", "processed"]
    assert len(calls) == 1


async def test_shared_cache_survives_rebuilding_the_app(
    recorder: Recorder, make_form: MakeForm
) -> None:
    cache = ReplayCache()
    form = make_form()
    statuses = []
    for _ in range(2):
        app = callback_app(recorder, APP_KEY, cache=cache, clock=lambda: NOW)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://r.test") as client:
            statuses.append((await client.post("/", data=form)).json()["status"])
    assert statuses == ["processed", "duplicate"]


async def test_duplicates_are_forgotten_after_the_remember_period(
    recorder: Recorder, make_form: MakeForm
) -> None:
    clock = [float(NOW)]
    app = callback_app(recorder, APP_KEY, max_age=60, remember=100, clock=lambda: clock[0])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://r.test") as client:
        await client.post("/", data=make_form())
        clock[0] = NOW + 55
        late = await client.post("/", data=make_form(timestamp=NOW + 50, random="Late1234"))
        clock[0] = NOW + 150
        later = await client.post("/", data=make_form(timestamp=NOW + 149, random="Later123"))
    assert [late.json()["status"], later.json()["status"]] == ["duplicate", "processed"]
    assert len(recorder.events) == 2


def test_receiver_runs_under_trio(make_form: MakeForm) -> None:
    seen: list[int] = []

    async def handler(event: PushEvent) -> None:
        seen.append(event.event)

    app = callback_app(handler, APP_KEY, clock=lambda: NOW)
    body = httpx.QueryParams(make_form(event=7)).__str__().encode()

    async def main() -> list[int]:
        sent: list[dict[str, Any]] = []
        messages = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            return messages.pop(0)

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/",
            "headers": [(b"content-type", b"application/x-www-form-urlencoded")],
        }
        await app(scope, receive, send)
        return [m["status"] for m in sent if m["type"] == "http.response.start"]

    assert trio.run(main) == [200]
    assert seen == [7]


async def test_lifespan_is_acknowledged() -> None:
    async def handler(event: PushEvent) -> None:
        raise AssertionError("not called")

    app = callback_app(handler, APP_KEY)
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])

    await app({"type": "lifespan"}, receive, send)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
