"""The fake over HTTP answers a test with the client's own models: ``FakeCloudServer``'s admin
calls (a subprocess) and ``ThreadedFakeServer`` (the ``sunmi_server`` fixture's server)."""

from __future__ import annotations

import socket
import threading

import httpx

from sunmi_face_async import AsyncSunmiFace, Face, FaceGroup, RetryPolicy
from sunmi_face_async.testing import (
    FAKE_FACE_ADDED_EVENT,
    FakeCloudServer,
    PushRecord,
    ThreadedFakeServer,
)

from .helpers import PNG


async def test_the_admin_answers_are_the_models_the_client_returns() -> None:
    async with FakeCloudServer() as server, server.client() as client:
        group = await client.groups.create("VIP", capacity=50)
        face_id = await client.faces.add(group.group_id, pic=PNG, name="Mike")
        faces = await server.faces_in(group.group_id)
        assert faces == [await client.faces.get(face_id)]
        assert all(type(f) is Face for f in faces)
        groups = await server.groups_of()
        assert groups == await client.groups.list()
        assert all(type(g) is FaceGroup for g in groups)
        moved = await server.simulate_arrival(face_id)
        assert type(moved) is Face
        assert moved == await client.faces.get(face_id)
        assert moved.arrival_count == faces[0].arrival_count + 1
        # A receiver that answers 200 at once: the fake's own admin route.
        receiver = server.admin_url + "/stats/reset"
        await client.hooks.add(receiver, [FAKE_FACE_ADDED_EVENT])
        await client.faces.add(group.group_id, pic=PNG, name="Ann")
        [record] = await server.deliver_pushes()
        assert type(record) is PushRecord
        assert (record.url, record.event, record.delivered, record.status, record.attempts) == (
            receiver,
            FAKE_FACE_ADDED_EVENT,
            True,
            200,
            1,
        )


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


async def test_the_threaded_server_serves_its_cloud_over_loopback_and_stops() -> None:
    with ThreadedFakeServer() as server:
        port = int(server.base_url.rsplit(":", 1)[1].split("/")[0])
        env = server.env(shop_no="123")
        assert env == {
            "SUNMI_APP_ID": server.app_id,
            "SUNMI_APP_KEY": server.app_key,
            "SUNMI_SHOP_NO": "123",
            "SUNMI_BASE_URL": server.base_url,
        }
        async with AsyncSunmiFace.from_env(env, retry=RetryPolicy(max_attempts=1)) as client:
            group = await client.groups.create("Over HTTP")
        assert server.cloud.groups_of("123")[-1] == group
        async with httpx.AsyncClient() as http:
            health = (await http.get(server.admin_url + "/health")).json()
        assert health["ok"] is True
        assert server.app_key not in repr(server)
    assert _port_is_free(port)
    assert [t for t in threading.enumerate() if t.name == "sunmi-fake-server"] == []
