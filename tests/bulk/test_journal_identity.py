"""A journal belongs to one job (issue 10, case 3): it refuses another job, a missing, empty
or damaged file on resume, and ends a job once, clearly, when it cannot be written."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from sunmi_face_async import AsyncSunmiFace
from sunmi_face_async.bulk import FaceUpload, Journal, Outcome, enroll
from sunmi_face_async.bulk.journal import JournalError, JournalMismatchError
from sunmi_face_async.testing import FakeSunmiCloud

from .conftest import picture

SLOT = 1


def _uploads(group_id: str, count: int = 30) -> list[FaceUpload]:
    return [
        FaceUpload(group_id, picture(i), name=f"p{i}", external_key=f"k{i}", line=i + 2)
        for i in range(count)
    ]


async def _first_run(client: AsyncSunmiFace, group_id: str, path: Path, count: int = 30) -> None:
    report = await enroll(
        client,
        _uploads(group_id, count),
        journal=path,
        external_key_slot=SLOT,
        job={"group": group_id},
    ).run()
    assert report.counts[Outcome.DONE] == count


async def test_a_journal_refuses_a_job_for_another_group_and_says_so(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, tmp_path: Path
) -> None:
    j1 = (await client.groups.create("J1")).group_id
    j2 = (await client.groups.create("J2")).group_id
    path = tmp_path / "job.sqlite"
    await _first_run(client, j1, path)

    job = enroll(
        client, _uploads(j2), journal=path, external_key_slot=SLOT, job={"group": j2}, resume=True
    )
    with pytest.raises(JournalMismatchError) as caught:
        await job.run()
    assert caught.value.differences == [("group", j1, j2)]
    assert str(path) in str(caught.value)
    assert j1 in str(caught.value)
    assert j2 in str(caught.value)
    assert cloud.faces_in(j2) == []  # before the fix: "30 skipped" and J2 got nothing


@pytest.mark.parametrize(
    ("change", "setting"),
    [({"external_key_slot": None}, "external_key_slot"), ({"shard": (0, 2)}, "shard")],
)
async def test_a_journal_refuses_another_slot_or_shard(
    cloud: FakeSunmiCloud,
    client: AsyncSunmiFace,
    group_id: str,
    tmp_path: Path,
    change: dict[str, object],
    setting: str,
) -> None:
    path = tmp_path / "job.sqlite"
    await _first_run(client, group_id, path)
    options: dict[str, object] = {"external_key_slot": SLOT, **change}
    job = enroll(client, _uploads(group_id), journal=path, job={"group": group_id}, **options)  # type: ignore[arg-type]
    with pytest.raises(JournalMismatchError) as caught:
        await job.run()
    assert [name for name, _, _ in caught.value.differences] == [setting]
    assert len(cloud.faces_in(group_id)) == 30


async def test_resuming_a_zero_byte_journal_is_refused_not_taken_as_empty(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    path = tmp_path / "job.sqlite"
    await _first_run(client, group_id, path)
    path.write_bytes(b"")  # e.g. a copy that failed
    for sidecar in (tmp_path / "job.sqlite-wal", tmp_path / "job.sqlite-shm"):
        sidecar.unlink(missing_ok=True)
    job = enroll(client, _uploads(group_id), journal=path, external_key_slot=SLOT, resume=True)
    with pytest.raises(JournalError) as caught:
        await job.run()
    assert caught.value.kind == "empty"
    assert str(path) in str(caught.value)
    assert "0 bytes" in str(caught.value)
    assert len(cloud.faces_in(group_id)) == 30  # before the fix: 60 (30 duplicates)


async def test_resuming_a_missing_journal_is_refused(
    client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    path = tmp_path / "nowhere.sqlite"
    job = enroll(client, _uploads(group_id), journal=path, resume=True)
    with pytest.raises(JournalError) as caught:
        await job.run()
    assert caught.value.kind == "missing"
    assert str(path) in str(caught.value)
    assert not path.exists()


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 100])


def _overwrite_header(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[:100] = b"\x00" * 100
    path.write_bytes(bytes(data))


def _overwrite_page(path: Path) -> None:
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big") or 65536
    assert len(data) >= 3 * page, "the journal has at least three pages"
    data[2 * page : 3 * page] = b"\xa5" * page
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_truncate, _overwrite_header, _overwrite_page])
@pytest.mark.parametrize("resume", [True, None])
async def test_a_damaged_journal_is_refused_with_its_name(
    cloud: FakeSunmiCloud,
    client: AsyncSunmiFace,
    group_id: str,
    tmp_path: Path,
    damage: object,
    resume: bool | None,
) -> None:
    path = tmp_path / "job.sqlite"
    await _first_run(client, group_id, path, count=300)
    assert not (tmp_path / "job.sqlite-wal").exists()  # checkpointed: all pages in the file
    damage(path)  # type: ignore[operator]
    job = enroll(
        client, _uploads(group_id, 300), journal=path, external_key_slot=SLOT, resume=resume
    )
    with pytest.raises(JournalError) as caught:
        await job.run()
    assert caught.value.kind == "damaged", caught.value
    assert str(path) in str(caught.value)
    assert len(cloud.faces_in(group_id)) == 300  # nothing sent again


def _faces_per_key(cloud: FakeSunmiCloud, group_id: str) -> Counter[str]:
    return Counter(face.customer_value(SLOT) for face in cloud.faces_in(group_id))


async def test_a_full_disk_stops_the_job_with_one_error_and_the_resume_completes_it(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    path = tmp_path / "job.sqlite"
    count = 400
    journal = Journal(path)
    journal.open()
    conn = journal._connect()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages + 2}")  # the disk fills up after ~2 pages
    with journal:
        job = enroll(client, _uploads(group_id, count), journal=journal, external_key_slot=SLOT)
        with pytest.raises(JournalError) as caught:
            await job.run()
    error = caught.value
    assert type(error) is JournalError  # not an ExceptionGroup, not "cannot rollback"
    assert error.kind == "io"
    assert "database or disk is full" in str(error)
    assert str(path) in str(error)
    assert 0 < len(cloud.faces_in(group_id)) < count

    # Space freed: the resume ends with every item on the server exactly once. (The
    # stopped job's uploads all ended with it, in process: no need to wait for them.)
    report = await enroll(
        client,
        _uploads(group_id, count),
        journal=path,
        external_key_slot=SLOT,
        resume=True,
        settle=0.0,
    ).run()
    assert report.counts[Outcome.FAILED] == report.counts[Outcome.UNKNOWN] == 0, report.listed
    per_key = _faces_per_key(cloud, group_id)
    assert sorted(per_key) == sorted(f"k{i}" for i in range(count))
    assert set(per_key.values()) == {1}


async def test_a_read_only_journal_stops_the_job_with_one_error_naming_it(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    path = tmp_path / "job.sqlite"
    journal = Journal(path)
    journal.open()
    journal._connect().execute("PRAGMA query_only = 1")  # writes now fail as SQLITE_READONLY
    with journal:
        job = enroll(client, _uploads(group_id), journal=journal, external_key_slot=SLOT)
        with pytest.raises(JournalError) as caught:
            await job.run()
    assert caught.value.kind == "io"
    assert str(path) in str(caught.value)
    assert "readonly" in str(caught.value)


async def test_a_journal_in_a_folder_that_cannot_be_written_names_the_os_cause(
    client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the journal's folder should be")
    path = blocker / "job.sqlite"
    job = enroll(client, _uploads(group_id), journal=path, external_key_slot=SLOT)
    with pytest.raises(JournalError) as caught:
        await job.run()
    assert caught.value.kind == "io"
    assert str(path) in str(caught.value)
    assert "Not a directory" in str(caught.value)


async def test_the_journal_names_items_and_their_attributes(
    client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    path = tmp_path / "job.sqlite"
    await _first_run(client, group_id, path, count=3)
    with Journal(path) as journal:
        rows = list(journal.rows())
        assert journal.job() == (
            {
                "base_url": client.base_url,
                "external_key_slot": SLOT,
                "group": group_id,
                "shard": None,
                "store": dict(client.shop),
            },
            {},
        )
    assert [(r.line, r.name, r.external_key) for r in rows] == [
        (2, "p0", "k0"),
        (3, "p1", "k1"),
        (4, "p2", "k2"),
    ]
    assert rows[0].attributes == {"gender": None, "age_range": None, "customer_values": ["k0"]}


def test_a_version_1_journal_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE items (key TEXT PRIMARY KEY, group_id TEXT NOT NULL,"
        " content_hash TEXT NOT NULL, status TEXT NOT NULL, face_id TEXT, error TEXT,"
        " attempts INTEGER NOT NULL DEFAULT 0, run_id TEXT, line INTEGER,"
        " created_at REAL NOT NULL, updated_at REAL NOT NULL);"
        "INSERT INTO items VALUES ('k', 'g', 'h', 'done', 'f1', NULL, 1, 'r', 2, 0, 0);"
    )
    conn.commit()
    conn.close()
    with Journal(path, resume=True) as journal:
        [row] = journal.rows()
        assert (row.key, row.face_id, row.picture) == ("k", "f1", None)
        assert journal.job() is None
