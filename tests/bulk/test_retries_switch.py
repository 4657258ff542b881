"""``SUNMI_RETRIES=0`` turns retries off everywhere: the client's and the bulk layer's own
tries alike, so a throttled upload is sent once however many tries the job allows. Counted on
a loopback fake that throttles every upload."""

from __future__ import annotations

import pytest

from sunmi_face_async import RetryPolicy, ValidationError
from sunmi_face_async.bulk import FaceUpload, Outcome, enroll
from sunmi_face_async.bulk.sync import SyncOptions
from sunmi_face_async.testing import FakeCloudServer

from .conftest import picture


async def test_an_enrollment_sends_each_upload_once_with_retries_switched_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SUNMI_RETRIES", "0")
    count = 4
    server = FakeCloudServer(seed=4)
    async with server, server.client(retry=RetryPolicy(max_attempts=4)) as client:
        group = await client.groups.create("switched", capacity=100)
        await server.set_faults(throttle_rate=1.0, retry_after=0, endpoints=["/face/add"])
        await server.reset_stats()
        job = enroll(
            client,
            [FaceUpload(group.group_id, picture(i)) for i in range(count)],
            concurrency=2,
            max_attempts=5,
            retry_delay=0,
        )
        report = await job.run()
        stats = await server.stats(request_times=False)
    assert report.counts[Outcome.FAILED] == count
    assert stats["requests_by_endpoint"]["/face/add"] == count


def test_the_bulk_policies_follow_the_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    from sunmi_face_async.bulk import EnrollOptions

    assert EnrollOptions(max_attempts=5).retry_policy.max_attempts == 5
    monkeypatch.setenv("SUNMI_RETRIES", "0")
    assert EnrollOptions(max_attempts=5).retry_policy.max_attempts == 1
    assert SyncOptions(external_key_slot=1, max_attempts=5).retry_policy.max_attempts == 1
    monkeypatch.setenv("SUNMI_RETRIES", "maybe")
    with pytest.raises(ValidationError, match="SUNMI_RETRIES"):
        RetryPolicy().switched()
