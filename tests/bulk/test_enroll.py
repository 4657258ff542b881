"""``enroll`` against the in-process fake cloud: results, duplicates, invalid rows, options."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx

from sunmi_face_async import AsyncSunmiFace
from sunmi_face_async.bulk import (
    BulkEvent,
    FaceUpload,
    Journal,
    Outcome,
    Progress,
    Status,
    enroll,
    in_shard,
    read_manifest,
)
from sunmi_face_async.testing import FakeSunmiCloud

from .conftest import picture


async def test_every_upload_ends_in_one_result_and_lands_on_the_server(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str
) -> None:
    uploads = [FaceUpload(group_id, picture(i), name=f"person {i}") for i in range(40)]
    results = [r async for r in enroll(client, uploads, concurrency=6)]
    assert len(results) == 40
    assert {r.outcome for r in results} == {Outcome.DONE}
    on_server = {face.face_id: face.name for face in cloud.faces_in(group_id)}
    assert {r.face_id: r.item.name for r in results} == on_server


async def test_the_same_picture_twice_in_a_group_is_sent_once(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str
) -> None:
    other = (await client.groups.create("other", capacity=100)).group_id
    uploads = [
        FaceUpload(group_id, picture(1), name="first"),
        FaceUpload(group_id, picture(1), name="again"),
        FaceUpload(group_id, picture(1), name="third", external_key="k3"),
        FaceUpload(other, picture(1), name="other group"),
    ]
    report = await enroll(client, uploads, concurrency=1, ordered=True).run()
    assert report.counts[Outcome.DONE] == 2
    assert report.counts[Outcome.DUPLICATE] == 2
    assert [f.name for f in cloud.faces_in(group_id)] == ["first"]
    assert [f.name for f in cloud.faces_in(other)] == ["other group"]
    assert cloud.stats.requests_by_endpoint["/face/add"] == 2


async def test_bad_rows_and_bad_pictures_are_reported_and_the_rest_goes_on(
    tmp_path: Path, cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str
) -> None:
    (tmp_path / "a.jpg").write_bytes(picture(1))
    (tmp_path / "b.png").write_bytes(picture(2, "png"))
    (tmp_path / "text.jpg").write_bytes(b"hello, not a picture")
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "big.jpg").write_bytes(picture(3) + b"\x00" * (1024 * 1024))
    manifest = tmp_path / "faces.csv"
    manifest.write_text(
        "picture,name,age_range\n"
        "a.jpg,Ann,\n"
        "missing.jpg,Nobody,\n"
        "text.jpg,Text,\n"
        "b.png,Bob,11\n"
        "empty.jpg,Empty,\n"
        "big.jpg,Big,\n"
        "b.png,Bob,3\n",
        encoding="utf-8",
    )
    results = [r async for r in enroll(client, read_manifest(manifest, group_id=group_id))]
    by_line = {r.line: r for r in results}
    assert sorted(by_line) == [2, 3, 4, 5, 6, 7, 8]
    assert {line for line, r in by_line.items() if r.outcome is Outcome.DONE} == {2, 8}
    assert {line for line, r in by_line.items() if r.outcome is Outcome.INVALID} == {3, 4, 5, 6, 7}
    assert "no such file" in (by_line[3].error or "")
    assert "age_range" in (by_line[5].error or "")
    assert "limit" in (by_line[7].error or "")
    assert sorted(f.name for f in cloud.faces_in(group_id)) == ["Ann", "Bob"]


async def test_the_report_counts_outcomes_and_lists_failures(
    client: AsyncSunmiFace, group_id: str
) -> None:
    uploads = [FaceUpload(group_id, picture(i)) for i in range(5)]
    uploads.append(FaceUpload("no-such-group", picture(99), external_key="lost"))
    uploads.append(FaceUpload(group_id, b"nope", external_key="broken"))
    job = enroll(client, uploads, concurrency=3)
    report = await job.run()
    assert report is job.report
    assert report.total == 7
    assert (report.counts[Outcome.DONE], report.counts[Outcome.FAILED]) == (5, 1)
    assert report.counts[Outcome.INVALID] == 1
    assert sorted(key for key, _ in report.failures) == ["broken", "lost"]
    data = report.as_dict()
    assert data["counts"]["done"] == 5
    assert data["elapsed"] >= 0
    assert report.throughput > 0
    assert not report.cancelled


async def test_ordered_mode_yields_in_input_order(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str
) -> None:
    cloud.faults.jitter = 0.004  # completions come back out of order
    uploads = [FaceUpload(group_id, picture(i), external_key=f"e{i}") for i in range(30)]
    keys = [r.key async for r in enroll(client, uploads, concurrency=8, ordered=True)]
    assert keys == [f"e{i}" for i in range(30)]


async def test_dry_run_validates_everything_and_sends_nothing(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str
) -> None:
    uploads = [FaceUpload(group_id, picture(i)) for i in range(4)]
    uploads += [FaceUpload(group_id, picture(0)), FaceUpload(group_id, b"")]
    report = await enroll(client, uploads, dry_run=True).run()
    assert report.counts[Outcome.CHECKED] == 4
    assert report.counts[Outcome.DUPLICATE] == 1
    assert report.counts[Outcome.INVALID] == 1
    assert cloud.stats.requests_by_endpoint["/face/add"] == 0


async def test_events_and_progress_are_reported(client: AsyncSunmiFace, group_id: str) -> None:
    events: list[BulkEvent] = []
    progress: list[Progress] = []
    uploads = [FaceUpload(group_id, picture(i)) for i in range(12)]
    await enroll(
        client, uploads, concurrency=4, on_event=events.append, on_progress=progress.append
    ).run()
    assert [e.kind for e in events].count("item_done") == 12
    assert len(progress) == 12
    assert (progress[-1].done, progress[-1].total, progress[-1].failed) == (12, 12, 0)
    assert all(p.in_flight <= 4 for p in progress)


async def test_the_external_key_goes_into_its_slot_and_a_clash_is_invalid(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str
) -> None:
    uploads = [
        FaceUpload(group_id, picture(1), customer_values=("", "vip"), external_key="emp-1"),
        FaceUpload(group_id, picture(2), customer_values=("taken",), external_key="emp-2"),
    ]
    results = {r.key: r async for r in enroll(client, uploads, external_key_slot=1)}
    assert results["emp-1"].outcome is Outcome.DONE
    assert results["emp-2"].outcome is Outcome.INVALID
    [face] = cloud.faces_in(group_id)
    assert face.customer_values[:2] == ("emp-1", "vip")


async def test_shards_split_one_manifest_without_overlap(
    tmp_path: Path, cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str
) -> None:
    uploads = [FaceUpload(group_id, picture(i), external_key=f"e{i}") for i in range(60)]
    uploads += [FaceUpload(group_id, picture(100 + i)) for i in range(30)]  # hash-keyed
    seen: list[str] = []
    for k in range(3):
        job = enroll(client, uploads, shard=(k, 3), journal=tmp_path / f"shard{k}.db")
        keys = [r.key async for r in job]
        assert all(in_shard(key, (k, 3)) for key in keys)
        assert 0 < len(keys) < 90
        seen += keys
    assert len(seen) == len(set(seen)) == 90
    assert len(cloud.faces_in(group_id)) == 90


async def test_enroll_runs_under_trio(tmp_path: Path) -> None:
    def run_with_trio() -> int:
        async def main() -> int:
            cloud = FakeSunmiCloud()
            async with cloud.client() as client:
                group = await client.groups.create("trio", capacity=100)
                uploads = [FaceUpload(group.group_id, picture(i)) for i in range(20)]
                report = await enroll(client, uploads, journal=tmp_path / "j.db").run()
                return report.counts[Outcome.DONE]

        return anyio.run(main, backend="trio")

    assert await anyio.to_thread.run_sync(run_with_trio) == 20


class InstantFaces:
    def __init__(self) -> None:
        self.count = 0

    async def add(self, group_id: str, **_: object) -> str:
        self.count += 1
        await anyio.lowlevel.checkpoint()
        return f"face-{self.count}"


class InstantClient:
    def __init__(self) -> None:
        self.faces = InstantFaces()


async def test_enroll_pulls_its_input_lazily_so_memory_stays_flat() -> None:
    pulled = 0

    def uploads() -> Iterator[FaceUpload]:
        nonlocal pulled
        for i in range(3000):
            pulled += 1
            yield FaceUpload("g", picture(i), external_key=f"k{i}")

    consumed = 0
    furthest_ahead = 0
    async for result in enroll(InstantClient(), uploads(), concurrency=16):
        assert result.outcome is Outcome.DONE
        consumed += 1
        furthest_ahead = max(furthest_ahead, pulled - consumed)
    assert consumed == 3000
    # workers (the cap and 16 spare: 32), the result buffer (32) and one batch pulled in a
    # thread (32), whatever the input size
    assert furthest_ahead <= 3 * 32 + 2


class SlowFaces:
    """Answers the first ``fast`` uploads at once and keeps the others hanging."""

    def __init__(self, fast: int) -> None:
        self.fast = fast
        self.started = 0
        self.in_flight = 0

    async def add(self, group_id: str, **_: object) -> str:
        self.started += 1
        number = self.started
        self.in_flight += 1
        try:
            if number > self.fast:
                await anyio.sleep_forever()
            await anyio.lowlevel.checkpoint()
            return f"face-{number}"
        finally:
            self.in_flight -= 1


class SlowClient:
    def __init__(self, fast: int) -> None:
        self.faces = SlowFaces(fast)


async def test_leaving_the_loop_early_stops_every_worker(tmp_path: Path) -> None:
    client = SlowClient(fast=5)
    uploads = [FaceUpload("g", picture(i), external_key=f"k{i}") for i in range(100)]
    job = enroll(client, uploads, concurrency=8, journal=tmp_path / "j.db")
    async with job:
        async for result in job:
            assert result.outcome is Outcome.DONE
            if job.report.total == 5:
                break
    assert client.faces.in_flight == 0  # no orphan: every hanging upload was cancelled
    assert job.report.cancelled
    with Journal(tmp_path / "j.db") as journal:
        counts = journal.counts()
    assert counts[Status.DONE] == 5
    assert counts[Status.IN_FLIGHT] == client.faces.started - 5 > 0


async def test_the_default_settle_time_follows_the_client_timeout(cloud: FakeSunmiCloud) -> None:
    from sunmi_face_async.bulk._policy import default_settle

    async with cloud.client(timeout=10.0) as plain:
        assert default_settle(plain) == 15.0
    async with cloud.client(timeout=httpx.Timeout(5.0, read=20.0)) as detailed:
        assert default_settle(detailed) == 25.0
    assert default_settle(object()) == 35.0
