"""One retry budget per job: an upload is sent at most ``max_attempts`` times in all, the
client's own retries included (they are off for the job's uploads), counted on a loopback
fake that throttles every upload."""

from __future__ import annotations

import pytest

from sunmi_face_async import RetryPolicy
from sunmi_face_async.bulk import FaceUpload, Outcome, enroll
from sunmi_face_async.testing import FakeCloudServer

from .conftest import picture


@pytest.mark.parametrize("max_attempts", [1, 3])
async def test_a_throttled_upload_is_sent_at_most_max_attempts_times(max_attempts: int) -> None:
    count = 4
    # The client alone would try each call 4 times.
    server = FakeCloudServer(seed=3)
    async with server, server.client(retry=RetryPolicy(max_attempts=4)) as client:
        group = await client.groups.create("budget", capacity=100)
        await server.set_faults(throttle_rate=1.0, retry_after=0, endpoints=["/face/add"])
        await server.reset_stats()
        job = enroll(
            client,
            [FaceUpload(group.group_id, picture(i)) for i in range(count)],
            concurrency=2,
            max_attempts=max_attempts,
            retry_delay=0,
        )
        report = await job.run()
        stats = await server.stats(request_times=False)
    assert report.counts[Outcome.FAILED] == count
    assert stats["requests_by_endpoint"]["/face/add"] == count * max_attempts
    assert report.sent == count * max_attempts
