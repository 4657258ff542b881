"""enroll(confirm=...): an accepted upload is not an enrolled face until it is confirmed.

The fake processes each added face for a while and refuses some (``reject_rate``). The
expected counts come from the fake's own state (what it lists, what it refused), never from
the code under test.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import sqlite3
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import uvicorn

from sunmi_face_async import AsyncSunmiFace
from sunmi_face_async.bulk import (
    FaceUpload,
    JournalError,
    Outcome,
    Status,
    confirmation_handler,
    enroll,
    record_confirmation,
    verify,
)
from sunmi_face_async.testing import FAKE_FACE_ADDED_EVENT, FakeCloudServer, FakeSunmiCloud
from sunmi_face_async.webhook import callback_app

N = 500
LIST = "/face/group/getFaceList"
ADD = "/face/add"


def pic(i: int) -> bytes:
    return b"\xff\xd8\xff\xe0" + struct.pack(">I", i) + b"\x00" * 32


def uploads(group_id: str, n: int = N) -> list[FaceUpload]:
    return [FaceUpload(group_id, pic(i), name=f"p{i}", line=i + 1) for i in range(n)]


def by_outcome(results: list[Any]) -> dict[Outcome, set[str]]:
    found: dict[Outcome, set[str]] = {}
    for r in results:
        found.setdefault(r.outcome, set()).add(r.face_id)
    return found


async def collect(job: Any) -> list[Any]:
    async with job:
        return [r async for r in job]


async def test_listing_rejects_exactly_the_faces_missing_from_the_group(tmp_path: Path) -> None:
    journal = tmp_path / "job.sqlite"
    server = FakeCloudServer(seed=7, reject_rate=0.1, processing_delay=0.3)
    async with server, server.client() as client:
        group = await client.groups.create("confirm", capacity=5000)
        await server.reset_stats()
        job = enroll(
            client, uploads(group.group_id), journal=journal, confirm="listing", confirm_wait=0.5
        )
        results = await collect(job)
        listed = {f.face_id for f in await server.faces_in(group.group_id)}
        stats = await server.stats()
    outcomes = by_outcome(results)
    assert len(results) == N  # one result per item, the held ones included
    assert set(outcomes) == {Outcome.DONE, Outcome.REJECTED}
    assert len(outcomes[Outcome.REJECTED]) == N - len(listed)
    assert outcomes[Outcome.DONE] == listed
    assert 20 < N - len(listed) < 90  # 10 % of 500, seeded
    report = job.report
    assert report.confirmation == {
        "mode": "listing",
        "accepted": N,
        "confirmed": len(listed),
        "rejected": N - len(listed),
        "unconfirmed": 0,
    }
    # One listing of the group, however many items: its pages, each once.
    assert stats["requests_by_endpoint"][LIST] == math.ceil(len(listed) / 100)
    assert stats["requests_by_endpoint"][ADD] == N
    rejected = next(r for r in results if r.outcome is Outcome.REJECTED)
    assert rejected.error == "accepted, then not in the group"
    assert rejected.line is not None
    counts = _journal_counts(journal)
    assert counts == {"done": len(listed), "rejected": N - len(listed)}


def _journal_counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT status, COUNT(*) FROM items GROUP BY status"))
    finally:
        conn.close()


class LoseSome:
    """Stands for a network that loses every ``every``-th push before the receiver sees it."""

    def __init__(self, app: Any, every: int) -> None:
        self.app, self.every, self.seen, self.lost = app, every, 0, 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.seen += 1
            if self.seen % self.every == 0:
                self.lost += 1
                await send({"type": "http.response.start", "status": 502, "headers": []})
                await send({"type": "http.response.body", "body": b"lost"})
                return
        await self.app(scope, receive, send)


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """Run ``app`` under uvicorn on a free loopback port in this loop; yield its URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        with anyio.fail_after(10):
            while not server.started:
                await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with anyio.fail_after(10):
            await task


async def test_push_confirmation_through_a_receiver_on_loopback(tmp_path: Path) -> None:
    journal = tmp_path / "job.sqlite"
    cloud = FakeSunmiCloud(
        seed=3,
        reject_rate=0.1,
        processing_delay=0.3,
        push_on_add=True,
        push_retry_delays=(0.1, 0.2, 0.4, 0.8),
    )
    receiver = LoseSome(callback_app(confirmation_handler(journal), cloud.app_key), every=9)
    async with serve(receiver) as hook_url, serve(cloud.app) as fake_url:
        client = AsyncSunmiFace(
            cloud.app_id,
            cloud.app_key,
            sunmi_shop_no=cloud.shop_no,
            base_url=fake_url + "/openapi",
        )
        async with client:
            await client.hooks.add(hook_url + "/push", [FAKE_FACE_ADDED_EVENT])
            group = await client.groups.create("confirm", capacity=5000)
            job = enroll(
                client, uploads(group.group_id), journal=journal, confirm="push", confirm_wait=20
            )
            started = anyio.current_time()
            results = await collect(job)
            took = anyio.current_time() - started
            checked = await verify(client, journal)
    truth_rejected = set(cloud.processing.rejected)
    listed = {f.face_id for f in cloud.faces_in(group.group_id)}
    outcomes = by_outcome(results)
    assert receiver.lost > 0  # some first deliveries were lost and came again
    assert set(outcomes) == {Outcome.DONE, Outcome.REJECTED}
    assert outcomes[Outcome.REJECTED] == truth_rejected
    assert outcomes[Outcome.DONE] == listed
    assert len(truth_rejected) == N - len(listed) > 20
    assert took < 15  # ended when the last word came, not after confirm_wait (20 s)
    assert job.report.confirmation["unconfirmed"] == 0
    rejected = next(r for r in results if r.outcome is Outcome.REJECTED)
    assert rejected.error is not None
    assert "rejected by the platform (code 600" in rejected.error
    # verify agrees: every face the journal holds as done is there.
    assert (checked.done, checked.present, checked.missing) == (len(listed), len(listed), [])
    assert checked.rejected == len(truth_rejected)


async def test_push_without_word_ends_unconfirmed_and_a_resume_confirms(tmp_path: Path) -> None:
    journal = tmp_path / "job.sqlite"
    cloud = FakeSunmiCloud(seed=4, reject_rate=0.2)
    async with cloud.client() as client:
        group = await client.groups.create("confirm")
        job = enroll(
            client, uploads(group.group_id, 30), journal=journal, confirm="push", confirm_wait=0.3
        )
        started = anyio.current_time()
        results = await collect(job)
        assert anyio.current_time() - started < 0.3 + 1.5
        assert {r.outcome for r in results} == {Outcome.UNCONFIRMED}
        assert all("no confirmation came within confirm_wait" in (r.error or "") for r in results)
        assert _journal_counts(journal) == {"done": 30}  # not rejected, not forgotten
        # The word arrives later (as a receiver would record it): the next run confirms.
        for face_id in {r.face_id for r in results}:
            code = 6001 if face_id in cloud.processing.rejected else 0
            record_confirmation(journal, face_id, code, "no face found" if code else "")
        again = await collect(
            enroll(
                client, uploads(group.group_id, 30), journal=journal, confirm="push", confirm_wait=5
            )
        )
    outcomes = by_outcome(again)
    assert outcomes[Outcome.REJECTED] == set(cloud.processing.rejected)
    assert outcomes[Outcome.SKIPPED] == {f.face_id for f in cloud.faces_in(group.group_id)}


async def test_rejected_items_are_sent_again_only_when_asked(tmp_path: Path) -> None:
    journal = tmp_path / "job.sqlite"
    cloud = FakeSunmiCloud(seed=8, reject_rate=0.3)
    async with cloud.client() as client:
        group = await client.groups.create("confirm")
        items = uploads(group.group_id, 40)
        first = await collect(
            enroll(client, items, journal=journal, confirm="listing", confirm_wait=0)
        )
        rejected = sum(r.outcome is Outcome.REJECTED for r in first)
        assert rejected == len(cloud.processing.rejected) > 0
        sent = cloud.stats.requests_by_endpoint[ADD]
        second = await collect(enroll(client, items, journal=journal))
        assert cloud.stats.requests_by_endpoint[ADD] == sent  # nothing sent again
        assert sum(r.outcome is Outcome.REJECTED for r in second) == rejected
        assert "earlier run" in next(r.error for r in second if r.outcome is Outcome.REJECTED)
        cloud.processing.reject_rate = 0.0
        third = await collect(
            enroll(
                client,
                items,
                journal=journal,
                resend_rejected=True,
                confirm="listing",
                confirm_wait=0,
            )
        )
    assert cloud.stats.requests_by_endpoint[ADD] == sent + rejected
    assert sum(r.outcome is Outcome.DONE for r in third) == rejected
    assert sum(r.outcome is Outcome.SKIPPED for r in third) == 40 - rejected
    assert len(cloud.faces_in(group.group_id)) == 40


def test_a_version_2_journal_opens_and_takes_confirmations(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE items (key TEXT PRIMARY KEY, group_id TEXT NOT NULL, content_hash TEXT"
        " NOT NULL, status TEXT NOT NULL, face_id TEXT, error TEXT, attempts INTEGER NOT NULL"
        " DEFAULT 0, run_id TEXT, line INTEGER, created_at REAL NOT NULL, updated_at REAL NOT"
        " NULL, picture TEXT, name TEXT, external_key TEXT, attrs TEXT);"
        "CREATE TABLE job (id INTEGER PRIMARY KEY CHECK (id = 1), schema INTEGER NOT NULL,"
        " identity TEXT NOT NULL, settings TEXT NOT NULL, created_at REAL NOT NULL);"
        "INSERT INTO job VALUES (1, 2, '{}', '{}', 0);"
        "INSERT INTO items (key, group_id, content_hash, status, face_id, created_at,"
        " updated_at) VALUES ('k', 'g', 'h', 'done', 'F1', 0, 0);"
    )
    conn.commit()
    conn.close()
    record_confirmation(path, "F1", 6001, "no face found")  # the table is made on the way
    from sunmi_face_async.bulk import Journal

    with Journal(path, resume=True) as journal:
        assert [r.status for r in journal.rows()] == [Status.DONE]
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT face_id, code, reason, source FROM confirmations").fetchall()
    conn.close()
    assert rows == [("F1", 6001, "no face found", "push")]


def test_record_confirmation_refuses_bad_input_naming_it(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="there is no journal at"):
        record_confirmation(tmp_path / "none.sqlite", "F1", 0)
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).close()
    other.write_bytes(b"")
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(JournalError, match="is not a journal"):
        record_confirmation(other, "F1", 0)
    with pytest.raises(ValueError, match="code must be an integer"):
        record_confirmation(other, "F1", "0")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="face_id must be"):
        record_confirmation(other, "", 0)


def test_confirm_options_are_checked() -> None:
    with pytest.raises(ValueError, match="confirm must be None, 'listing' or 'push'"):
        enroll(httpx, [], confirm="list")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="confirm_wait cannot be negative"):
        enroll(httpx, [], confirm="listing", confirm_wait=-1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"confirm='push' needs journal="):
        enroll(httpx, [], confirm="push")  # type: ignore[arg-type]
