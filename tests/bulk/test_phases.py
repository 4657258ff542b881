"""The bulk layer says what it is doing (issue 11, case 4): phase events and the phase on
each progress snapshot, and with a shard the total is the shard's."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sunmi_face_async import AsyncSunmiFace
from sunmi_face_async.bulk import BulkEvent, FaceUpload, Journal, Progress, enroll
from sunmi_face_async.testing import FakeSunmiCloud

from .conftest import picture


async def test_throttled_retries_are_a_phase(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str
) -> None:
    cloud.faults.endpoints = {"/face/add"}
    cloud.faults.throttle_rate = 0.7  # some items outlast the client's own quick retries
    cloud.faults.retry_after = 0
    events: list[BulkEvent] = []
    phases: list[str] = []
    uploads = [FaceUpload(group_id, picture(i)) for i in range(60)]
    job = enroll(
        client,
        uploads,
        on_event=events.append,
        on_progress=lambda p: phases.append(p.phase),
        max_attempts=8,
        retry_delay=0.01,
    )
    await job.run()
    said = [e.detail for e in events if e.kind == "phase"]
    assert any(text.startswith("retrying ") and text.endswith(" throttled") for text in said), said
    assert any(p.startswith("retrying ") for p in phases)
    assert said[-1] == ""
    assert phases[-1] == ""


async def test_a_resume_says_it_waits_for_uploads_in_flight_then_reconciles(
    client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    path = tmp_path / "job.sqlite"
    uploads = [FaceUpload(group_id, picture(i), external_key=f"k{i}") for i in range(10)]
    with Journal(path) as journal:  # an earlier run died with three uploads on the wire
        for i, upload in enumerate(uploads[:3]):
            await journal.claim(upload.external_key or "", group_id, f"hash-{i}")
    events: list[BulkEvent] = []
    snapshots: list[Progress] = []
    job = enroll(
        client,
        uploads,
        journal=path,
        external_key_slot=1,
        settle=1.0,
        on_event=events.append,
        on_progress=snapshots.append,
    )
    await job.run()
    said = [e.detail for e in events if e.kind == "phase"]
    assert said == [
        "reconciling 3",
        "reconciling 3: waiting 1 s for uploads in flight to settle",
        f"reconciling 3: listing group {group_id}",
        "sending 3 again (absent from the group)",
        "",
    ]
    assert any(s.phase.endswith("waiting 1 s for uploads in flight to settle") for s in snapshots)


def _in_shard(key: str, n: int) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % n


async def test_with_a_shard_the_total_is_the_shards(client: AsyncSunmiFace, group_id: str) -> None:
    keyed = [FaceUpload(group_id, picture(i), external_key=f"k{i}") for i in range(40)]
    unkeyed = [FaceUpload(group_id, picture(100 + i)) for i in range(40)]
    snapshots: list[Progress] = []
    results = [
        r async for r in enroll(client, keyed + unkeyed, shard=(1, 3), on_progress=snapshots.append)
    ]
    expected_keyed = sum(_in_shard(f"k{i}", 3) == 1 for i in range(40))
    assert sum(1 for r in results if r.key.startswith("k")) == expected_keyed
    assert snapshots[-1].total == len(results)  # before: 80
    assert all(s.total is not None and s.total < 80 for s in snapshots)
