"""Export (concurrent pages, de-duplication, writers) and chunked delete / move."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path

import anyio

from sunmi_face_async import AsyncSunmiFace
from sunmi_face_async.bulk import (
    BulkEvent,
    FaceUpload,
    Outcome,
    delete_faces,
    enroll,
    export_faces,
    move_faces,
    write_csv,
    write_jsonl,
)
from sunmi_face_async.errors import FaceNotInGroupError, ServerError
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


async def test_delete_faces_chunks_in_parallel_with_one_outcome_per_id(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str
) -> None:
    await fill(client, group_id, 45)
    ids = [f.face_id for f in cloud.faces_in(group_id)]
    cloud.reset_stats()
    results = await delete_faces(client, group_id, ids[:40], chunk_size=7, concurrency=3)
    assert [r.face_id for r in results] == ids[:40]
    assert {r.outcome for r in results} == {Outcome.DONE}
    assert cloud.stats.requests_by_endpoint["/face/delete"] == 6
    assert [f.face_id for f in cloud.faces_in(group_id)] == ids[40:]


async def test_move_faces_moves_every_id(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str
) -> None:
    await fill(client, group_id, 12)
    target = (await client.groups.create("target", capacity=100)).group_id
    ids = [f.face_id for f in cloud.faces_in(group_id)]
    results = await move_faces(client, group_id, target, ids[:9], chunk_size=4)
    assert [r.outcome for r in results] == [Outcome.DONE] * 9
    assert sorted(f.face_id for f in cloud.faces_in(target)) == sorted(ids[:9])


class PickyFaces:
    """Refuses a chunk that holds a stranger id, as the API does; fails the 'down' id."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    async def delete(self, group_id: str, face_ids: Sequence[str]) -> None:
        self.calls.append(list(face_ids))
        if "down" in face_ids:
            raise ServerError(5000, "database error", endpoint="/face/delete")
        if any(i.startswith("x") for i in face_ids):
            raise FaceNotInGroupError(5521, "face not in group", endpoint="/face/delete")


class PickyClient:
    def __init__(self) -> None:
        self.faces = PickyFaces()


async def test_a_refused_chunk_is_split_until_each_id_has_its_own_outcome() -> None:
    client = PickyClient()
    ids = ["a", "b", "x1", "c", "d", "e", "f", "x2", "down"]
    results = await delete_faces(client, "g", ids, chunk_size=8)
    outcomes = {r.key: r.outcome for r in results}
    assert [r.key for r in results] == ids
    assert {k for k, o in outcomes.items() if o is Outcome.FAILED} == {"x1", "x2", "down"}
    assert "5521" in next(r.error or "" for r in results if r.key == "x1")
    assert ["down"] in client.faces.calls  # a server error is not split, just reported
