"""The SQLite journal: claims, resume decisions, WAL mode, what it stores, batching."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio
import pytest

from sunmi_face_async.bulk import Journal, Status
from sunmi_face_async.bulk.journal import Claim


async def test_a_new_item_is_claimed_in_flight_then_marked_done(tmp_path: Path) -> None:
    with Journal(tmp_path / "job.db") as journal:
        assert await journal.claim("k1", "g1", "h1", line=3) == (Claim.SEND, None)
        [row] = journal.rows()
        assert (row.key, row.group_id, row.content_hash, row.status, row.attempts, row.line) == (
            "k1",
            "g1",
            "h1",
            Status.IN_FLIGHT,
            1,
            3,
        )
        await journal.mark_done("k1", "face-9")
        [row] = journal.rows()
        assert (row.status, row.face_id) == (Status.DONE, "face-9")


async def test_a_resumed_job_skips_done_reports_in_flight_and_resends_failed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "job.db"
    with Journal(path) as first:
        for key in ("done", "lost", "bad"):
            await first.claim(key, "g1", f"hash-{key}")
        await first.mark_done("done", "face-1")
        await first.mark_failed("bad", "code 5020: bad parameter")
    with Journal(path) as second:
        assert await second.claim("done", "g1", "hash-done") == (Claim.SKIP, "face-1")
        assert await second.claim("lost", "g1", "hash-lost") == (Claim.UNKNOWN, None)
        assert await second.claim("bad", "g1", "hash-bad") == (Claim.SEND, None)
        rows = {row.key: row for row in second.rows()}
        assert rows["bad"].attempts == 2
        assert rows["bad"].status is Status.IN_FLIGHT
        assert rows["lost"].status is Status.IN_FLIGHT


async def test_the_same_key_twice_in_one_run_is_a_duplicate(tmp_path: Path) -> None:
    with Journal(tmp_path / "job.db") as journal:
        assert await journal.claim("k", "g1", "h") == (Claim.SEND, None)
        await journal.mark_failed("k", "boom")
        assert await journal.claim("k", "g1", "h") == (Claim.DUPLICATE, "k")


async def test_the_same_picture_in_the_same_group_under_another_key_is_a_duplicate(
    tmp_path: Path,
) -> None:
    with Journal(tmp_path / "job.db") as journal:
        assert await journal.claim("a", "g1", "same") == (Claim.SEND, None)
        assert await journal.claim("b", "g1", "same") == (Claim.DUPLICATE, "a")
        assert await journal.claim("c", "g2", "same") == (Claim.SEND, None)  # other group
        assert journal.counts()[Status.DUPLICATE] == 1


async def test_a_failed_first_copy_does_not_make_the_second_a_duplicate(tmp_path: Path) -> None:
    with Journal(tmp_path / "job.db") as journal:
        await journal.claim("a", "g1", "same")
        await journal.mark_failed("a", "rejected")
        assert await journal.claim("b", "g1", "same") == (Claim.SEND, None)


async def test_the_journal_uses_wal_and_stores_no_secret_or_picture(tmp_path: Path) -> None:
    path = tmp_path / "job.db"
    with Journal(path) as journal:
        await journal.claim("k", "g1", "abc")
        await journal.mark_unknown("k", "read timeout; the outcome is unknown")
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        columns = [c[1] for c in conn.execute("PRAGMA table_info(items)")]
        types = {c[2] for c in conn.execute("PRAGMA table_info(items)")}
    finally:
        conn.close()
    assert columns == [
        "key",
        "group_id",
        "content_hash",
        "status",
        "face_id",
        "error",
        "attempts",
        "run_id",
        "line",
        "created_at",
        "updated_at",
        "picture",  # the picture's path, never its bytes
        "name",
        "external_key",
        "attrs",
    ]
    assert "BLOB" not in types


async def test_concurrent_writes_are_committed_in_few_transactions(tmp_path: Path) -> None:
    with Journal(tmp_path / "job.db") as journal:

        async def one(i: int) -> None:
            await journal.claim(f"k{i}", "g", f"h{i}")
            await journal.mark_done(f"k{i}", f"f{i}")

        async with anyio.create_task_group() as tg:
            for i in range(400):
                tg.start_soon(one, i)
        assert journal.counts()[Status.DONE] == 400
        assert journal.transactions < 100  # 800 writes, batched


async def test_resolve_records_a_checked_item_and_the_old_settle_name_warns(tmp_path: Path) -> None:
    with Journal(tmp_path / "job.db") as journal:
        for key in ("found", "absent", "old-name"):
            await journal.claim(key, "g1", f"hash-{key}")
            await journal.mark_unknown(key, "connection lost")
        journal.resolve("found", "face-1", "found by a check")
        journal.resolve("absent", None, "not on the server")
        with pytest.warns(DeprecationWarning, match="Journal.resolve"):
            journal.settle("old-name", "face-2", "found by a check")
        rows = {row.key: (row.status, row.face_id) for row in journal.rows()}
    assert rows == {
        "found": (Status.DONE, "face-1"),
        "absent": (Status.FAILED, None),
        "old-name": (Status.DONE, "face-2"),
    }
