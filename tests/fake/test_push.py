"""Push callbacks: hooks registered through the API, signed deliveries and their retries."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import httpx

from sunmi_face_async.testing import FAKE_FACE_ADDED_EVENT, FakeSunmiCloud
from sunmi_face_async.webhook import PushEvent, callback_app
from tests._reference import reference_sign

from .helpers import APP_ID, APP_KEY, PNG

HOOK = "http://receiver.test/sunmi"


class Receiver:
    """A callback endpoint that fails its first ``failures`` deliveries."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.forms: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.forms.append(dict(parse_qsl(request.content.decode())))
        if len(self.forms) <= self.failures:
            return httpx.Response(500)
        return httpx.Response(200, text="ok")


def _cloud(receiver: Receiver, **kwargs: object) -> FakeSunmiCloud:
    transport = httpx.MockTransport(receiver)
    return FakeSunmiCloud(push_transport=transport, push_retry_delays=(0, 0, 0, 0), **kwargs)  # type: ignore[arg-type]


async def test_a_face_addition_is_pushed_signed() -> None:
    receiver = Receiver()
    cloud = _cloud(receiver)
    stranger = cloud.groups_of()[0].group_id
    async with cloud.client() as client:
        await client.hooks.add(HOOK, [FAKE_FACE_ADDED_EVENT])
        face_id = await client.faces.add(stranger, pic=PNG)
    assert receiver.forms == []  # delivered on demand
    [record] = await cloud.deliver_pushes()
    assert (record.delivered, record.attempts, record.status) == (True, 1, 200)
    [form] = receiver.forms
    assert form["sign"] == reference_sign(form, APP_KEY)
    assert (form["app_id"], form["event"]) == (APP_ID, "9001")
    assert form["sunmi_shop_no"] == form["shop_id"] == cloud.shop_no
    payload = json.loads(form["payload"])
    assert (payload["face_id"], payload["group_id"]) == (face_id, stranger)


async def test_failed_deliveries_are_retried_four_times() -> None:
    receiver = Receiver(failures=2)
    cloud = _cloud(receiver)
    cloud.shop_state().hooks[HOOK] = frozenset({FAKE_FACE_ADDED_EVENT})
    stranger = cloud.groups_of()[0].group_id
    async with cloud.client() as client:
        await client.faces.add(stranger, pic=PNG)
    [record] = await cloud.deliver_pushes()
    assert (record.delivered, record.attempts) == (True, 3)
    assert len({form["random"] for form in receiver.forms}) == 3  # each attempt re-signed
    assert len({json.loads(form["payload"])["push_id"] for form in receiver.forms}) == 1

    always_failing = Receiver(failures=100)
    cloud = _cloud(always_failing)
    cloud.shop_state().hooks[HOOK] = frozenset({FAKE_FACE_ADDED_EVENT})
    async with cloud.client() as client:
        await client.faces.add(stranger, pic=PNG)
    [record] = await cloud.deliver_pushes()
    assert (record.delivered, record.attempts, record.status) == (False, 5, 500)


async def test_only_subscribed_hooks_get_callbacks() -> None:
    receiver = Receiver()
    cloud = _cloud(receiver)
    stranger = cloud.groups_of()[0].group_id
    async with cloud.client() as client:
        await client.hooks.add(HOOK, [1234])
        await client.hooks.add("http://other.test/cb", [FAKE_FACE_ADDED_EVENT])
        await client.hooks.delete([FAKE_FACE_ADDED_EVENT], "http://other.test/cb")
        await client.faces.add(stranger, pic=PNG)
    assert cloud.shop_state().hooks == {HOOK: frozenset({1234})}
    assert await cloud.deliver_pushes() == []
    assert receiver.forms == []


async def test_push_on_add_reaches_the_webhook_receiver_in_process() -> None:
    events: list[PushEvent] = []

    async def on_event(event: PushEvent) -> None:
        events.append(event)

    receiver_app = callback_app(on_event, APP_KEY)
    cloud = FakeSunmiCloud(push_on_add=True, push_transport=httpx.ASGITransport(receiver_app))
    stranger = cloud.groups_of()[0].group_id
    async with cloud.client() as client:
        await client.hooks.add(HOOK, [FAKE_FACE_ADDED_EVENT])
        face_id = await client.faces.add(stranger, pic=PNG)
    [event] = events
    assert (event.event, event.payload["face_id"]) == (FAKE_FACE_ADDED_EVENT, face_id)
    assert [r.delivered for r in cloud.push.log] == [True]
