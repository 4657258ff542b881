"""Export: concurrent pages, de-duplication when pages shift, and the JSONL / CSV writers."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import anyio

from sunmi_face_async import AsyncSunmiFace
from sunmi_face_async.bulk import (
    BulkEvent,
    FaceUpload,
    Outcome,
    enroll,
    export_faces,
    write_csv,
    write_jsonl,
)
from sunmi_face_async.models import Face, FacePage
from sunmi_face_async.testing import FakeSunmiCloud

from .conftest import picture


async def fill(client: AsyncSunmiFace, group_id: str, n: int) -> None:
    uploads = [
        FaceUpload(group_id, picture(i), name=f"p{i}", external_key=f"e{i}") for i in range(n)
    ]
    report = await enroll(client, uploads, concurrency=8, external_key_slot=1).run()
    assert report.counts[Outcome.DONE] == n


async def test_export_fetches_the_pages_concurrently_and_yields_each_face_once(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str
) -> None:
    await fill(client, group_id, 95)
    cloud.faults.latency = 0.002
    cloud.reset_stats()
    events: list[BulkEvent] = []
    faces = [
        f async for f in export_faces(client, [group_id], page_size=10, on_event=events.append)
    ]
    assert [f.face_id for f in faces] == [f.face_id for f in cloud.faces_in(group_id)]
    assert cloud.stats.requests_by_endpoint["/face/group/getFaceList"] == 10
    assert cloud.stats.max_in_flight > 1  # pages 2..10 overlapped
    assert [e.kind for e in events] == ["page"] * 10


class ShiftingGroups:
    """A group that grows between page reads: pages overlap, as on a live server."""

    def __init__(self, total: int) -> None:
        self.faces = [Face(face_id=f"f{i}", group_id="g") for i in range(total)]

    async def list_faces(self, group_id: str, *, page_num: int, page_size: int) -> FacePage:
        await anyio.lowlevel.checkpoint()
        if page_num > 1:
            self.faces.insert(0, Face(face_id=f"new{page_num}", group_id="g"))  # shifts pages
        start = (page_num - 1) * page_size
        chunk = tuple(self.faces[start : start + page_size])
        return FacePage(chunk, total_num=len(self.faces), page_num=page_num, page_size=page_size)


class ShiftingClient:
    def __init__(self, total: int) -> None:
        self.groups = ShiftingGroups(total)


async def test_export_drops_faces_seen_twice_when_pages_shift() -> None:
    client = ShiftingClient(50)
    faces = [f.face_id async for f in export_faces(client, "g", page_size=10, concurrency=1)]
    assert len(faces) == len(set(faces))
    assert {f"f{i}" for i in range(41)} <= set(faces)


async def test_writers_produce_jsonl_and_csv(tmp_path: Path) -> None:
    faces = [
        Face(face_id="1", group_id="g", name="Ann", customer_values=("gold", "x")),
        Face(face_id="2", group_id="g", name="Bob, Jr."),
    ]
    assert await write_jsonl(faces, tmp_path / "out.jsonl") == 2
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["name"] for line in lines] == ["Ann", "Bob, Jr."]
    assert json.loads(lines[0])["customer_values"] == ["gold", "x"]
    buffer = io.StringIO()
    assert await write_csv(faces, buffer) == 2
    rows = list(csv.DictReader(io.StringIO(buffer.getvalue())))
    assert [(r["face_id"], r["name"], r["customer_value1"]) for r in rows] == [
        ("1", "Ann", "gold"),
        ("2", "Bob, Jr.", ""),
    ]
