"""The fake cloud's signed callbacks, delivered in-process to callback_app, verify and dedupe."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from sunmi_face_async.testing import DEFAULT_APP_KEY, FAKE_FACE_ADDED_EVENT, FakeSunmiCloud
from sunmi_face_async.webhook import PushEvent, callback_app

JPEG = b"\xff\xd8\xff\xe0" + bytes(500)
HOOK_URL = "http://receiver.test/sunmi/push"
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]


class Receiver:
    """Counts handled events; can be told to fail a number of times first."""

    def __init__(self) -> None:
        self.events: list[PushEvent] = []
        self.fail_next = 0

    async def __call__(self, event: PushEvent) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("storage unavailable")
        self.events.append(event)


class LoseFirstAcks:
    """An ASGI wrapper standing for a proxy that loses the receiver's answer ``count`` times."""

    def __init__(self, app: ASGIApp, count: int) -> None:
        self.app = app
        self.count = count

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.count == 0:
            await self.app(scope, receive, send)
            return
        self.count -= 1

        async def swallow(message: Any) -> None:
            return None

        await self.app(scope, receive, swallow)
        body = b"bad gateway"
        await send({"type": "http.response.start", "status": 502, "headers": []})
        await send({"type": "http.response.body", "body": body})


def cloud_pushing_to(app: ASGIApp) -> FakeSunmiCloud:
    return FakeSunmiCloud(
        push_transport=httpx.ASGITransport(app=app), push_retry_delays=(0.0, 0.0, 0.0, 0.0)
    )


async def add_face_with_hook(cloud: FakeSunmiCloud) -> str:
    async with cloud.client() as client:
        await client.hooks.add(HOOK_URL, [FAKE_FACE_ADDED_EVENT])
        group = await client.groups.create("webhook-test")
        return await client.faces.add(group.group_id, pic=JPEG, name="Mike")


async def test_fake_callback_verifies_into_the_documented_event() -> None:
    receiver = Receiver()
    cloud = cloud_pushing_to(callback_app(receiver, DEFAULT_APP_KEY))
    face_id = await add_face_with_hook(cloud)
    records = await cloud.deliver_pushes()
    assert [(r.delivered, r.attempts, r.status) for r in records] == [(True, 1, 200)]
    (event,) = receiver.events
    assert event.event == FAKE_FACE_ADDED_EVENT
    assert event.payload["face_id"] == face_id
    assert (event.app_id, event.sunmi_shop_no) == (cloud.app_id, cloud.shop_no)


async def test_fake_retries_are_resigned_and_handled_once() -> None:
    receiver = Receiver()
    app = callback_app(receiver, DEFAULT_APP_KEY)
    cloud = cloud_pushing_to(LoseFirstAcks(app, count=2))
    await add_face_with_hook(cloud)
    records = await cloud.deliver_pushes()
    # Attempt 1 was handled but its 200 got lost, attempt 2 was a duplicate whose answer
    # got lost, attempt 3 was acknowledged as a duplicate.
    assert [(r.delivered, r.attempts) for r in records] == [(True, 3)]
    assert len(receiver.events) == 1


async def test_handler_failure_makes_the_fake_deliver_again() -> None:
    receiver = Receiver()
    receiver.fail_next = 2
    cloud = cloud_pushing_to(callback_app(receiver, DEFAULT_APP_KEY))
    await add_face_with_hook(cloud)
    records = await cloud.deliver_pushes()
    assert [(r.delivered, r.attempts, r.status) for r in records] == [(True, 3, 200)]
    assert len(receiver.events) == 1


async def test_callbacks_signed_with_another_key_are_refused_every_time() -> None:
    receiver = Receiver()
    cloud = cloud_pushing_to(callback_app(receiver, "not-the-fake-key"))
    await add_face_with_hook(cloud)
    records = await cloud.deliver_pushes()
    assert [(r.delivered, r.attempts, r.status) for r in records] == [(False, 5, 401)]
    assert receiver.events == []


class Recording:
    """An ASGI wrapper that keeps the raw bodies it passes on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        chunks: list[bytes] = []
        self.bodies.append(b"")

        async def recording_receive() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                self.bodies[-1] = b"".join(chunks)
            return message

        await self.app(scope, recording_receive, send)


async def test_captured_fake_callback_replayed_forged_and_late() -> None:
    receiver = Receiver()
    now = [0.0]
    app = callback_app(receiver, DEFAULT_APP_KEY, max_age=300, clock=lambda: now[0])
    recording = Recording(app)
    cloud = cloud_pushing_to(recording)
    face_id = await add_face_with_hook(cloud)
    now[0] = cloud.now()
    assert [r.delivered for r in await cloud.deliver_pushes()] == [True]
    (captured,) = recording.bodies
    form = dict(httpx.QueryParams(captured.decode()))
    forged = {**form, "payload": form["payload"].replace(face_id, "1" + face_id)}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver.test") as client:
        headers = {"content-type": "application/x-www-form-urlencoded"}
        replayed = await client.post("/", content=captured, headers=headers)
        forged_answer = await client.post("/", data=forged)
        now[0] = int(form["timestamp"]) + 301  # past the window of the callback's own stamp
        late = await client.post("/", content=captured, headers=headers)
    assert (replayed.status_code, replayed.json()["status"]) == (200, "duplicate")
    assert (forged_answer.status_code, forged_answer.json()["reason"]) == (401, "bad_signature")
    assert (late.status_code, late.json()["reason"]) == (401, "expired")
    assert len(receiver.events) == 1
