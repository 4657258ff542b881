"""One retry budget per job: an upload is sent at most ``max_attempts`` times in all, the
client's own retries included (they are off for the job's uploads), and once only when
``SUNMI_RETRIES=0`` turns every retry off. Counted on a loopback fake that throttles every
upload."""

from __future__ import annotations

import pytest

from sunmi_face_async import RetryPolicy, ValidationError
from sunmi_face_async.bulk import EnrollOptions, FaceUpload, Outcome, enroll
from sunmi_face_async.bulk.sync import SyncOptions
from sunmi_face_async.testing import FakeCloudServer

from .conftest import picture

COUNT = 4


async def _throttled_sends(max_attempts: int) -> int:
    """Enroll COUNT uploads that are always throttled; the sends the fake saw."""
    # The client alone would try each call 4 times.
    server = FakeCloudServer(seed=3)
    async with server, server.client(retry=RetryPolicy(max_attempts=4)) as client:
        group = await client.groups.create("budget", capacity=100)
        await server.set_faults(throttle_rate=1.0, retry_after=0, endpoints=["/face/add"])
        await server.reset_stats()
        job = enroll(
            client,
            [FaceUpload(group.group_id, picture(i)) for i in range(COUNT)],
            concurrency=2,
            max_attempts=max_attempts,
            retry_delay=0,
        )
        report = await job.run()
        stats = await server.stats(request_times=False)
    assert report.counts[Outcome.FAILED] == COUNT
    assert report.sent == stats["requests_by_endpoint"]["/face/add"]
    return int(stats["requests_by_endpoint"]["/face/add"])


@pytest.mark.parametrize("max_attempts", [1, 3])
async def test_a_throttled_upload_is_sent_at_most_max_attempts_times(max_attempts: int) -> None:
    assert await _throttled_sends(max_attempts) == COUNT * max_attempts


async def test_each_upload_is_sent_once_with_retries_switched_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SUNMI_RETRIES", "0")
    assert await _throttled_sends(5) == COUNT


def test_the_bulk_policies_follow_the_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    assert EnrollOptions(max_attempts=5).retry_policy.max_attempts == 5
    monkeypatch.setenv("SUNMI_RETRIES", "0")
    assert EnrollOptions(max_attempts=5).retry_policy.max_attempts == 1
    assert SyncOptions(external_key_slot=1, max_attempts=5).retry_policy.max_attempts == 1
    monkeypatch.setenv("SUNMI_RETRIES", "maybe")
    with pytest.raises(ValidationError, match="SUNMI_RETRIES"):
        RetryPolicy().switched()
