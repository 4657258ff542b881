"""Paging never trusts the server's counts: lying loopback servers, every face exactly once.

Each scenario is a real HTTP server on loopback whose ``getFaceList`` lies in one way. Both
``groups.iter_faces`` and ``bulk.export_faces`` must end, yield every face the server holds
exactly once, and ask for a number of pages bounded by the pages that carried faces (plus one
probe for ``iter_faces``, plus one window of ``concurrency`` pages for the export).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from asyncio.subprocess import PIPE
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import attrs
import pytest

from sunmi_face_async import ProtocolError, SunmiError
from sunmi_face_async.bulk import BulkEvent, export_faces

from ._lying_server import APP_KEY, LyingServer, Pages, ids

SUNMI_FACE = str(Path(sys.executable).with_name("sunmi-face"))

HUGE = 10**9
CONCURRENCY = 4


@attrs.frozen
class Scenario:
    pages: Pages
    faces: list[str]  # every face the server holds
    data_pages: int  # how many answers carry faces a client has not seen (counted by hand)


def sliced(count: int, total: int) -> Pages:
    """Pages cut at the asked size from ``count`` faces; ``total`` is what it reports."""
    return lambda num, size: (ids((num - 1) * size, min(num * size, count)), total)


def capped(count: int, cap: int, total: int, *, own_offsets: bool) -> Pages:
    """At most ``cap`` faces a page; offsets by the served length or by the asked size."""

    def page(num: int, size: int) -> tuple[list[str], int]:
        start = (num - 1) * (min(size, cap) if own_offsets else size)
        return ids(start, min(start + min(size, cap), count)), total

    return page


def longer(count: int, length: int, *, own_offsets: bool) -> Pages:
    """Pages of ``length`` faces whatever size was asked (``total_num`` is honest)."""

    def page(num: int, size: int) -> tuple[list[str], int]:
        start = (num - 1) * (length if own_offsets else size)
        return ids(start, min(start + length, count)), count

    return page


SCENARIOS = {
    "total 10**9 over 250 faces": Scenario(sliced(250, HUGE), ids(0, 250), 3),
    "the same 100 faces on every page": Scenario(lambda n, s: (ids(0, 100), HUGE), ids(0, 100), 1),
    "the whole group on every page": Scenario(lambda n, s: (ids(0, 250), HUGE), ids(0, 250), 1),
    "pages of 150 at their own offsets": Scenario(
        longer(1000, 150, own_offsets=True), ids(0, 1000), 7
    ),
    "pages of 150 at the asked offsets": Scenario(
        longer(1000, 150, own_offsets=False), ids(0, 1000), 10
    ),
    "10 of 35 per page, offsets by 10": Scenario(
        capped(35, 10, 35, own_offsets=True), ids(0, 35), 4
    ),
    "10 of 35 per page, offsets by the asked size": Scenario(
        capped(35, 10, 35, own_offsets=False), ids(0, 35), 4
    ),
    "10 of 35 per page and a total of 10": Scenario(
        capped(35, 10, 10, own_offsets=True), ids(0, 35), 4
    ),
    "an honest server": Scenario(sliced(250, 250), ids(0, 250), 3),
}


async def _iter(server: LyingServer) -> list[str]:
    async with server.client() as client:
        return [face.face_id async for face in client.groups.iter_faces("g", page_size=100)]


async def _export(server: LyingServer) -> list[str]:
    async with server.client() as client:
        faces = export_faces(client, "g", concurrency=CONCURRENCY, page_size=100)
        return [face.face_id async for face in faces]


WALKERS: dict[str, tuple[Callable[[LyingServer], Awaitable[list[str]]], int]] = {
    "iter_faces": (_iter, 1),
    "export_faces": (_export, CONCURRENCY),
}


@pytest.mark.parametrize("walker", list(WALKERS))
@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_every_face_once_in_a_bounded_number_of_requests(name: str, walker: str) -> None:
    scenario = SCENARIOS[name]
    walk, slack = WALKERS[walker]
    async with LyingServer(scenario.pages) as server:
        got = await walk(server)
    repeated = {face_id: n for face_id, n in Counter(got).items() if n > 1}
    assert repeated == {}
    assert sorted(got) == scenario.faces
    assert server.requests <= scenario.data_pages + slack, server.asked


@pytest.mark.parametrize("walker", list(WALKERS))
async def test_a_capped_page_size_is_followed(walker: str) -> None:
    """Asked for 100, served 10: the next pages are asked at 10, numbered for 10."""
    walk, _ = WALKERS[walker]
    async with LyingServer(capped(35, 10, 35, own_offsets=False)) as server:
        got = await walk(server)
    assert got == ids(0, 35)
    assert sorted(server.asked) == [(1, 100), (2, 10), (3, 10), (4, 10)]


async def test_an_honest_server_is_asked_no_page_past_the_last() -> None:
    async with LyingServer(sliced(250, 250)) as server:
        got = await _export(server)
    assert got == ids(0, 250)
    assert sorted(server.asked) == [(1, 100), (2, 100), (3, 100)]


async def test_each_group_is_walked_on_its_own() -> None:
    """Group b's first page only repeats faces of group a: b still goes on, at its own size."""
    groups = {"a": capped(100, 10, 100, own_offsets=True), "b": sliced(250, 250)}
    async with LyingServer(sliced(0, 0), groups=groups) as server, server.client() as client:
        faces = export_faces(client, ["a", "b"], concurrency=CONCURRENCY, page_size=100)
        got = [(face.group_id, face.face_id) async for face in faces]
    assert got == [("a", i) for i in ids(0, 100)] + [("b", i) for i in ids(100, 250)]
    asked_b = sorted((num, size) for group, num, size in server.asked_by_group if group == "b")
    assert asked_b == [(1, 100), (2, 100), (3, 100)]


def endless(count: int) -> Pages:
    """Every page brings new faces (the offsets run on), while the total says ``count``."""
    return lambda num, size: (ids((num - 1) * size, num * size), count)


def sliding(count: int) -> Pages:
    """Page ``n`` starts at face ``n - 1``: each page brings one new face, without end."""
    return lambda num, size: (ids(num - 1, num - 1 + size), count)


def dropping(count: int, page: int) -> Pages:
    """``count`` faces cut at the asked size, but page ``page`` leaves out its last face."""

    def answer(num: int, size: int) -> tuple[list[str], int]:
        faces = ids((num - 1) * size, min(num * size, count))
        return (faces[:-1] if num == page else faces), count

    return answer


@pytest.mark.parametrize("walker", list(WALKERS))
@pytest.mark.parametrize("pages", [endless(250), sliding(250)], ids=["endless", "sliding"])
async def test_new_faces_without_end_raise_a_protocol_error(pages: Pages, walker: str) -> None:
    """Bounded by the answers: 250 counted, so at most 250 + 10 pages of 100 faces."""
    walk, slack = WALKERS[walker]
    async with LyingServer(pages) as server:
        with pytest.raises(ProtocolError, match="keeps serving new faces") as caught:
            await walk(server)
    assert "largest total_num was 250" in str(caught.value)
    assert isinstance(caught.value, SunmiError)
    # 250 counted + 10 pages' margin = 1250 faces, 15 pages at most, plus one window.
    assert server.requests <= 15 + slack, server.asked


@pytest.mark.parametrize("walker", list(WALKERS))
async def test_a_page_short_of_one_face_does_not_end_the_group(
    walker: str, caplog: pytest.LogCaptureFixture
) -> None:
    """300 faces, page 2 serves 99: the walk reads on and says what is missing."""
    walk, _ = WALKERS[walker]
    caplog.set_level(logging.WARNING, logger="sunmi_face_async.paging")
    async with LyingServer(dropping(300, page=2)) as server:
        got = await walk(server)
    assert got == ids(0, 199) + ids(200, 300)
    warned = [r.getMessage() for r in caplog.records if r.name == "sunmi_face_async.paging"]
    assert warned == [
        "group g: the server counted 300 faces (its largest total_num) but its pages brought "
        "299: it skipped some, or faces were deleted during the walk"
    ]


async def test_the_export_reports_a_shortfall_event() -> None:
    events: list[BulkEvent] = []
    async with LyingServer(dropping(300, page=2)) as server, server.client() as client:
        faces = export_faces(client, "g", concurrency=CONCURRENCY, on_event=events.append)
        got = [face.face_id async for face in faces]
    assert len(got) == 299
    shortfalls = [(e.key, e.detail) for e in events if e.kind == "shortfall"]
    assert shortfalls == [("g", "the server counted 300 faces, its pages brought 299: 1 missing")]


async def test_the_cli_export_warns_of_a_shortfall(tmp_path: Path) -> None:
    """``sunmi-face export`` over the server that drops a face: the file holds the 299
    faces served, stderr says one is missing, ``--json`` carries it as ``shortfall``."""
    async with LyingServer(dropping(300, page=2)) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SUNMI_")}
        env.update(
            SUNMI_APP_ID="LYINGAPP0001",
            SUNMI_APP_KEY=APP_KEY,
            SUNMI_SHOP_NO="560279010307",
            SUNMI_BASE_URL=server.base_url,
        )
        runs = []
        for extra in ([], ["--json"]):
            out = tmp_path / f"out{len(runs)}.jsonl"
            process = await asyncio.create_subprocess_exec(
                SUNMI_FACE, *extra, "export", "--group", "g", "--output", str(out),
                env=env, stdout=PIPE, stderr=PIPE,
            )  # fmt: skip
            stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
            got = [json.loads(line)["face_id"] for line in out.read_text().splitlines()]
            runs.append((process.returncode, stdout.decode(), stderr.decode(), got))
    (code, _, stderr, got), (json_code, summary, _, json_got) = runs
    assert code == json_code == 0
    assert got == json_got == ids(0, 199) + ids(200, 300)
    missing = "the server counted 300 faces, its pages brought 299: 1 missing"
    assert f"warning: group g: {missing}" in stderr
    assert json.loads(summary)["shortfall"] == {"g": missing}
