"""Chunked delete and move: one outcome per id, refused chunks split until each id has its own."""

from __future__ import annotations

from collections.abc import Sequence

from sunmi_face_async import AsyncSunmiFace
from sunmi_face_async.bulk import (
    FaceUpload,
    Outcome,
    delete_faces,
    enroll,
    move_faces,
)
from sunmi_face_async.errors import FaceNotInGroupError, ServerError
from sunmi_face_async.testing import FakeSunmiCloud

from .conftest import picture


async def fill(client: AsyncSunmiFace, group_id: str, n: int) -> None:
    uploads = [
        FaceUpload(group_id, picture(i), name=f"p{i}", external_key=f"e{i}") for i in range(n)
    ]
    report = await enroll(client, uploads, concurrency=8, external_key_slot=1).run()
    assert report.counts[Outcome.DONE] == n


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
