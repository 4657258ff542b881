"""The fake's processing under faults: the platform processes (and pushes) a face it
committed whether or not its answer reached the client."""

from __future__ import annotations

import anyio
import httpx
import pytest

from sunmi_face_async import NO_RETRY
from sunmi_face_async.errors import SunmiError
from sunmi_face_async.testing import FAKE_FACE_ADDED_EVENT, FakeSunmiCloud
from sunmi_face_async.testing.faults import Faults

from .test_processing import HOOK, Receiver, pic


@pytest.mark.parametrize("delay", [0.0, 0.1])
async def test_a_face_committed_then_dropped_is_still_pushed(delay: float) -> None:
    receiver = Receiver()
    cloud = FakeSunmiCloud(
        seed=3,
        reject_rate=0.5,
        processing_delay=delay,
        push_on_add=True,
        push_transport=httpx.MockTransport(receiver),
    )
    async with cloud.client(retry=NO_RETRY) as client:
        await client.hooks.add(HOOK, [FAKE_FACE_ADDED_EVENT])
        group = await client.groups.create("p")
        cloud.faults = Faults(commit_then_timeout_rate=1.0, endpoints={"/face/add"})
        with pytest.raises(SunmiError):
            await client.faces.add(group.group_id, pic=pic(1))
        with anyio.fail_after(5):
            while not receiver.payloads:
                await anyio.sleep(0.02)
    assert [p["group_id"] for p in receiver.payloads] == [group.group_id]
