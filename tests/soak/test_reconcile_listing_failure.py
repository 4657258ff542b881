"""Faults on reconciliation itself: when the group listing fails (after the transport's
retries), the items waiting for it end UNKNOWN and the job goes on to its report.

The bulk layer's promise: every item ends in exactly one result, and one bad item never
stops the others.
(Before a926fc9 the listing's error aborted the whole job and those items had no result.)
"""

from __future__ import annotations

import httpx

from sunmi_face_async import RetryPolicy
from sunmi_face_async.bulk import FaceUpload, Outcome, enroll
from sunmi_face_async.testing import FakeSunmiCloud
from sunmi_face_async.testing.pictures import tiny_png

COUNT = 50


class ListingsFail(httpx.AsyncBaseTransport):
    """Passes every request to the fake, except group listings, which never get through."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/face/group/getFaceList"):
            raise httpx.ReadError("connection reset by peer", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _no_wait(seconds: float) -> None:
    return None


async def test_a_failed_reconcile_listing_leaves_items_unknown_instead_of_aborting() -> None:
    cloud = FakeSunmiCloud(seed=3)
    client = cloud.client(
        transport=ListingsFail(cloud.transport()), retry=RetryPolicy(sleep=_no_wait)
    )
    async with client:
        group = await client.groups.create("listing", capacity=COUNT)
        cloud.faults.update({"commit_then_timeout_rate": 0.2, "endpoints": ["/face/add"]})
        uploads = [
            FaceUpload(group_id=group.group_id, pic=tiny_png(i), external_key=f"k{i}")
            for i in range(COUNT)
        ]
        job = enroll(client, uploads, concurrency=4, external_key_slot=1)
        async with job:
            results = [r async for r in job]
        report = job.report
    ambiguous = cloud.stats.faults_injected["commit_then_timeout"]
    assert ambiguous > 0
    assert sorted(r.key for r in results) == sorted(f"k{i}" for i in range(COUNT))
    outcomes = [r.outcome for r in results]
    assert outcomes.count(Outcome.UNKNOWN) == ambiguous
    assert outcomes.count(Outcome.DONE) == COUNT - ambiguous
    assert report.counts[Outcome.UNKNOWN] == ambiguous
    assert not report.cancelled
    # The ambiguous uploads were applied (commit-then-timeout) and never sent twice.
    on_server = [f.customer_value(1) for f in cloud.faces_in(group.group_id)]
    assert sorted(on_server) == sorted(f"k{i}" for i in range(COUNT))
    assert cloud.stats.requests_by_endpoint["/face/add"] == COUNT
