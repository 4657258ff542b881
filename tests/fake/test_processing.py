"""The fake processes an added face: processing for ``processing_delay``, then ready or
rejected at ``reject_rate``; a rejected face is never listed and its push says why."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from urllib.parse import parse_qsl

import anyio
import httpx
import pytest

from sunmi_face_async.errors import APIError
from sunmi_face_async.testing import FAKE_FACE_ADDED_EVENT, FakeSunmiCloud
from sunmi_face_async.testing.options import cloud_from_settings

from .helpers import PNG

HOOK = "http://receiver.test/sunmi"


def pic(i: int) -> bytes:
    return PNG + struct.pack(">I", i)


class Receiver:
    """A callback endpoint that answers 500 to its first ``failures`` deliveries."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.payloads: list[dict[str, object]] = []
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.calls <= self.failures:
            return httpx.Response(500)
        form = dict(parse_qsl(request.content.decode()))
        assert form["event"] == str(FAKE_FACE_ADDED_EVENT)
        self.payloads.append(json.loads(form["payload"]))
        return httpx.Response(200)


async def _listed(cloud: FakeSunmiCloud, group_id: str) -> set[str]:
    async with cloud.client() as client:
        page = await client.groups.list_faces(group_id, page_size=100)
    return {face.face_id for face in page.faces}


async def test_rejected_faces_are_never_listed_and_the_rest_are() -> None:
    cloud = FakeSunmiCloud(seed=5, reject_rate=0.3)
    async with cloud.client() as client:
        group = await client.groups.create("p", capacity=1000)
        ids = [await client.faces.add(group.group_id, pic=pic(i)) for i in range(60)]
        rejected = [f for f in ids if f in cloud.processing.rejected]
        assert 5 < len(rejected) < 35  # 30 % of 60, seeded
        assert await _listed(cloud, group.group_id) == set(ids) - set(rejected)
        with pytest.raises(APIError) as caught:
            await client.faces.get(rejected[0])
        assert caught.value.code == 5506
        group_now = await client.groups.get(group.group_id)
        assert group_now.count == len(ids) - len(rejected)


async def test_the_same_seed_rejects_the_same_faces() -> None:
    def run() -> list[int]:
        cloud = FakeSunmiCloud(seed=9, reject_rate=0.5)
        return [i for i in range(40) if cloud.processing._draw() != (0, "succeed")]

    assert run() == run()
    assert 0 < len(run()) < 40


async def test_a_processing_face_is_not_listed_and_getinfo_says_so_then_it_is_ready() -> None:
    cloud = FakeSunmiCloud(processing_delay=0.3)
    async with cloud.client() as client:
        group = await client.groups.create("p")
        face_id = await client.faces.add(group.group_id, pic=PNG)
        assert await _listed(cloud, group.group_id) == set()
        with pytest.raises(APIError, match="still being processed") as caught:
            await client.faces.get(face_id)
        assert caught.value.code == 5506
        with anyio.fail_after(3):
            while face_id not in await _listed(cloud, group.group_id):
                await anyio.sleep(0.02)
        assert (await client.faces.get(face_id)).face_id == face_id


async def test_pushes_carry_each_outcome_after_the_delay_and_a_lost_one_is_retried() -> None:
    receiver = Receiver(failures=1)
    cloud = FakeSunmiCloud(
        seed=2,
        reject_rate=0.5,
        processing_delay=0.2,
        push_on_add=True,
        push_transport=httpx.MockTransport(receiver),
        push_retry_delays=(0.05, 0.05),
    )
    async with cloud.client() as client:
        await client.hooks.add(HOOK, [FAKE_FACE_ADDED_EVENT])
        group = await client.groups.create("p")
        ids = [await client.faces.add(group.group_id, pic=pic(i)) for i in range(12)]
        assert receiver.calls == 0  # nothing is pushed while processing
        with anyio.fail_after(5):
            while len(receiver.payloads) < len(ids):
                await anyio.sleep(0.02)
    assert receiver.calls == len(ids) + 1  # the one refused delivery came again
    by_face = {p["face_id"]: p for p in receiver.payloads}
    assert set(by_face) == set(ids)
    for face_id, payload in by_face.items():
        if face_id in cloud.processing.rejected:
            assert payload["code"] != 0
            assert payload["msg"] == cloud.processing.rejected[face_id][2]
            assert payload["msg"] in {reason for _, reason in _reasons()}
        else:
            assert (payload["code"], payload["msg"]) == (0, "succeed")
    rejected = {f for f in ids if f in cloud.processing.rejected}
    assert 0 < len(rejected) < len(ids)
    assert {f.face_id for f in cloud.faces_in(group.group_id)} == set(ids) - rejected


def _reasons() -> tuple[tuple[int, str], ...]:
    from sunmi_face_async.testing._processing import REJECT_REASONS

    return REJECT_REASONS


async def test_with_both_settings_at_zero_nothing_is_held_or_drawn() -> None:
    cloud = FakeSunmiCloud(seed=1)
    state = cloud.processing._rng.getstate()
    async with cloud.client() as client:
        group = await client.groups.create("p")
        face_id = await client.faces.add(group.group_id, pic=PNG)
        assert await _listed(cloud, group.group_id) == {face_id}
    assert not cloud.processing.active
    assert cloud.processing._rng.getstate() == state
    assert cloud.processing.pending == {}


def test_the_command_lines_take_both_settings_and_refuse_bad_values() -> None:
    cloud = cloud_from_settings({"reject_rate": 0.25, "processing_delay": 1.5})
    assert (cloud.processing.reject_rate, cloud.processing.delay) == (0.25, 1.5)
    for argv in (["--reject-rate", "1.5"], ["--processing-delay", "-1"]):
        done = subprocess.run(
            [sys.executable, "-m", "sunmi_face_async.testing", *argv],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 2
        assert f"argument {argv[0]}: '{argv[1]}' is " in done.stderr
