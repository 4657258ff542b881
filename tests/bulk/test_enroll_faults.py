"""Enrollment against a misbehaving fake: one result per item, no duplicate faces after faults,
after cancelling and after resuming; the concurrency and rate caps hold."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import anyio
import httpx
import pytest

from sunmi_face_async import AsyncSunmiFace, RetryPolicy
from sunmi_face_async.bulk import BulkEvent, FaceUpload, Journal, Outcome, Status, enroll
from sunmi_face_async.testing import FakeSunmiCloud

from .conftest import duplicate_pictures, duplicates_by_slot, picture


async def no_wait(seconds: float) -> None:
    await anyio.lowlevel.checkpoint()


def fast_client(cloud: FakeSunmiCloud) -> AsyncSunmiFace:
    return cloud.client(retry=RetryPolicy(max_attempts=3, sleep=no_wait))


def keyed(group_id: str, n: int, start: int = 0) -> list[FaceUpload]:
    return [
        FaceUpload(group_id, picture(i), name=f"p{i}", external_key=f"emp-{i}")
        for i in range(start, start + n)
    ]


def hostile(cloud: FakeSunmiCloud) -> None:
    faults = cloud.faults
    faults.endpoints = {"/face/add"}
    faults.error_rates = {5000: 0.04, 502: 0.04}
    faults.throttle_rate = 0.05
    faults.retry_after = 0
    faults.drop_rate = 0.05
    faults.commit_then_timeout_rate = 0.08


async def make_group(client: AsyncSunmiFace) -> str:
    group = await client.groups.create("faults", capacity=30_000, customer_keys=["ext"])
    return group.group_id


async def test_with_an_external_key_faults_leave_no_duplicate_and_one_result_each(
    tmp_path: Path,
) -> None:
    cloud = FakeSunmiCloud(seed=3)
    events: list[BulkEvent] = []
    async with fast_client(cloud) as client:
        group_id = await make_group(client)
        hostile(cloud)
        uploads = keyed(group_id, 300)
        job = enroll(
            client,
            uploads,
            concurrency=12,
            journal=tmp_path / "job.db",
            external_key_slot=1,
            on_event=events.append,
            retry_delay=0,
            reconcile_rounds=8,  # a fifth of the sends fail: leave no item unresolved by chance
        )
        results = [r async for r in job]
    assert sum(cloud.stats.faults_injected.values()) > 50
    assert sorted(r.key for r in results) == sorted(u.external_key or "" for u in uploads)
    assert duplicates_by_slot(cloud, group_id) == 0
    on_server = {f.customer_value(1): f.face_id for f in cloud.faces_in(group_id)}
    done = {r.key: r.face_id for r in results if r.outcome is Outcome.DONE}
    assert done == on_server  # every face on the server was reported done, with its id
    assert job.report.counts[Outcome.DONE] == 300, (job.report.counts, job.report.unknown)
    reconciled = Counter(e.detail for e in events if e.kind == "reconcile")
    assert reconciled["found"] > 0  # applied, reply lost: found by listing, not re-sent
    assert reconciled["absent, resending"] > 0  # never applied: sent again


async def test_without_an_external_key_unknown_outcomes_are_reported_not_resent() -> None:
    cloud = FakeSunmiCloud(seed=5)
    async with fast_client(cloud) as client:
        group_id = await make_group(client)
        hostile(cloud)
        uploads = [FaceUpload(group_id, picture(i)) for i in range(200)]
        report = await enroll(client, uploads, concurrency=10, retry_delay=0).run()
    assert report.total == 200
    unknown = report.counts[Outcome.UNKNOWN]
    assert unknown > 0
    assert len(report.unknown) == unknown
    assert "external_key_slot" in report.advice
    assert duplicate_pictures(cloud, group_id) == 0  # no picture went up twice
    on_server = len(cloud.faces_in(group_id))
    assert report.counts[Outcome.DONE] <= on_server <= report.counts[Outcome.DONE] + unknown


@pytest.mark.parametrize("slot", [1, None])
async def test_cancel_then_resume_leaves_no_duplicate(tmp_path: Path, slot: int | None) -> None:
    cloud = FakeSunmiCloud(seed=8)
    journal_path = tmp_path / "job.db"
    async with fast_client(cloud) as client:
        group_id = await make_group(client)
        cloud.faults.endpoints = {"/face/add"}
        # Each upload stays on the wire at least 20 ms: one seen in flight when the loop is
        # cancelled is still in flight when the cancel reaches its worker.
        cloud.faults.latency = 0.02
        cloud.faults.jitter = 0.003
        cloud.faults.commit_then_timeout_rate = 0.05
        uploads = keyed(group_id, 150)
        first = enroll(client, uploads, concurrency=8, journal=journal_path, external_key_slot=slot)
        seen = 0
        with anyio.CancelScope() as scope:
            async for _ in first:
                seen += 1
                if seen >= 60 and cloud.stats.in_flight > 0:  # cancel with uploads on the wire
                    scope.cancel()
        assert first.report.cancelled
        with Journal(journal_path) as journal:
            rows = journal.counts()
        assert rows[Status.IN_FLIGHT] > 0  # cancelled while in flight: outcome unknown
        ambiguous = rows[Status.IN_FLIGHT] + rows[Status.UNKNOWN]

        cloud.faults.commit_then_timeout_rate = 0.0
        cloud.faults.latency = 0.0
        adds_before = cloud.stats.requests_by_endpoint["/face/add"]
        events: list[BulkEvent] = []
        second = enroll(
            client,
            uploads,
            concurrency=8,
            journal=journal_path,
            external_key_slot=slot,
            # Long enough that the claims are still younger than it when the resume starts,
            # however loaded the machine: the resume must then wait before listing.
            settle=3.0,
            on_event=events.append,
        )
        results = [r async for r in second]
        adds = cloud.stats.requests_by_endpoint["/face/add"] - adds_before
    assert sorted(r.key for r in results) == sorted(u.external_key or "" for u in uploads)
    counts = second.report.counts
    assert counts[Outcome.SKIPPED] == rows[Status.DONE]
    assert duplicate_pictures(cloud, group_id) == 0
    if slot is None:
        # in-flight items are reported, never blindly sent again
        assert counts[Outcome.UNKNOWN] == ambiguous
        assert adds == 150 - rows[Status.DONE] - ambiguous
    else:
        # the killed run's uploads may still land: the group is listed only after a wait
        assert any(e.detail.startswith("waiting") for e in events)
        assert duplicates_by_slot(cloud, group_id) == 0
        assert counts[Outcome.UNKNOWN] == 0
        assert len(cloud.faces_in(group_id)) == 150


async def test_the_concurrency_cap_holds_on_the_server() -> None:
    cloud = FakeSunmiCloud(seed=2)
    async with fast_client(cloud) as client:
        group_id = await make_group(client)
        cloud.faults.latency = 0.002
        cloud.faults.jitter = 0.002
        cloud.reset_stats()
        report = await enroll(client, keyed(group_id, 120), concurrency=5).run()
    assert report.counts[Outcome.DONE] == 120
    assert 2 <= cloud.stats.max_in_flight <= 5


async def test_the_rate_cap_holds_on_the_server() -> None:
    cloud = FakeSunmiCloud(seed=2)
    rate, burst = 400.0, 4
    async with fast_client(cloud) as client:
        group_id = await make_group(client)
        cloud.reset_stats()
        await enroll(client, keyed(group_id, 80), concurrency=16, rate=rate, burst=burst).run()
    stamps = sorted(cloud.stats.request_times)
    assert len(stamps) == 80
    for i, start in enumerate(stamps):
        for window in (0.005, 0.05):
            arrived = sum(1 for t in stamps[i:] if t < start + window)
            # +1: a request stamped on arrival may trail its slot by a scheduling tick
            assert arrived <= burst + rate * window + 1


class ListingsFail(httpx.AsyncBaseTransport):
    """Every group listing fails on the wire; everything else reaches the fake."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/face/group/getFaceList"):
            raise httpx.ConnectError("refused", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_failed_reconcile_listing_reports_the_items_unknown(tmp_path: Path) -> None:
    cloud = FakeSunmiCloud(seed=3)
    transport = ListingsFail(cloud.transport())
    async with cloud.client(transport=transport, retry=RetryPolicy(sleep=no_wait)) as client:
        group_id = await make_group(client)
        cloud.faults.endpoints = {"/face/add"}
        cloud.faults.commit_then_timeout_rate = 0.2
        job = enroll(client, keyed(group_id, 40), journal=tmp_path / "j.db", external_key_slot=1)
        results = [r async for r in job]
    ambiguous = cloud.stats.faults_injected["commit_then_timeout"]
    assert ambiguous > 0
    assert len(results) == 40
    unknown = [r for r in results if r.outcome is Outcome.UNKNOWN]
    assert len(unknown) == ambiguous
    assert all("could not list" in (r.error or "") for r in unknown)
    with Journal(tmp_path / "j.db") as journal:
        assert journal.counts()[Status.UNKNOWN] == ambiguous  # a resume reconciles them


async def test_throttled_uploads_are_retried_and_shrink_the_concurrency() -> None:
    cloud = FakeSunmiCloud(seed=4)
    events: list[BulkEvent] = []
    # no retries in the client: every 429 reaches the bulk layer
    async with cloud.client(retry=RetryPolicy(max_attempts=1)) as client:
        group_id = await make_group(client)
        cloud.faults.endpoints = {"/face/add"}
        cloud.faults.throttle_rate = 0.3
        cloud.faults.retry_after = 0
        cloud.faults.latency = 0.001
        job = enroll(
            client,
            keyed(group_id, 60),
            concurrency=8,
            max_attempts=8,
            retry_delay=0,
            on_event=events.append,
        )
        report = await job.run()
    assert report.counts[Outcome.DONE] == 60
    retries = [e for e in events if e.kind == "retry"]
    assert len(retries) == cloud.stats.faults_injected["throttle"]
    assert all(e.attempt is not None and e.attempt >= 2 for e in retries)
    limits = [e.detail for e in events if e.kind == "limit"]
    assert limits
    assert limits[0] == "concurrency 8 -> 4: throttled"
    assert len(cloud.faces_in(group_id)) == 60


async def test_gateway_refusals_that_outlast_the_quick_retry_are_sent_again() -> None:
    """5091/5092 mean the gateway refused the request before acting on it: an upload refused
    twice in a row (the client retries these once) is safe to send again, so the job does."""
    cloud = FakeSunmiCloud(seed=4)
    async with fast_client(cloud) as client:
        group_id = await make_group(client)
        cloud.faults.endpoints = {"/face/add"}
        cloud.faults.error_rates = {5091: 0.15, 5092: 0.15}
        uploads = [FaceUpload(group_id, picture(i)) for i in range(60)]
        # max_attempts counts every send (the client's quick re-sign included): 6 sends.
        job = enroll(client, uploads, concurrency=6, retry_delay=0, max_attempts=6)
        report = await job.run()
    assert cloud.stats.faults_injected  # the gateway did refuse
    assert report.counts[Outcome.DONE] == 60, (report.counts, report.failures)
    assert len(cloud.faces_in(group_id)) == 60
    assert duplicate_pictures(cloud, group_id) == 0
