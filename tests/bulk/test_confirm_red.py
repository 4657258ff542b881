"""enroll(confirm=...) and verify under attack: a listing that lies, pushes that do not
belong to the item, hostile push payloads, and a journal an older release reads.

Expected outcomes come from the fake's own state or from the test's own setup, never from
the code under test.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import anyio
import attrs
import pytest

from sunmi_face_async import AsyncSunmiFace
from sunmi_face_async.bulk import (
    FaceUpload,
    JournalError,
    Outcome,
    confirmation_handler,
    enroll,
    read_push_payload,
    record_confirmation,
    sync,
    verify,
)
from sunmi_face_async.testing import FAKE_FACE_ADDED_EVENT, FakeSunmiCloud

from .conftest import ShortGroups, ShortListing, picture


def _uploads(group_id: str, n: int) -> list[FaceUpload]:
    return [FaceUpload(group_id, picture(i), name=f"p{i}", line=i + 1) for i in range(n)]


async def test_a_listing_short_of_its_own_count_leaves_items_unconfirmed_not_rejected(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    """The fake refuses nothing: every face is in the group. A listing that brings fewer
    faces than it counts proves nothing about the faces it did not bring."""
    journal = tmp_path / "job.sqlite"
    job = enroll(
        ShortListing(client),
        _uploads(group_id, 5),
        journal=journal,
        confirm="listing",
        confirm_wait=0,
    )
    report = await job.run()
    assert len(cloud.faces_in(group_id)) == 5
    assert report.counts[Outcome.REJECTED] == 0
    assert report.counts[Outcome.DONE] + report.counts[Outcome.UNCONFIRMED] == 5
    assert report.counts[Outcome.UNCONFIRMED] >= 1
    said = [i["reason"] for i in report.named(Outcome.UNCONFIRMED)]
    assert all("counted 5 faces" in why for why in said), said
    # Nothing was marked rejected: a later run with a truthful listing confirms them all.
    again = await enroll(
        client, _uploads(group_id, 5), journal=journal, confirm="listing", confirm_wait=0
    ).run()
    assert again.counts[Outcome.SKIPPED] == 5
    assert again.confirmed == 5


async def test_verify_with_a_short_listing_reports_unchecked_not_missing(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    journal = tmp_path / "job.sqlite"
    await enroll(client, _uploads(group_id, 4), journal=journal).run()
    assert len(cloud.faces_in(group_id)) == 4
    report = await verify(ShortListing(client), journal)
    assert report.missing == []
    assert (report.present, report.unchecked) == (3, 1)  # the listing left out one face
    assert "counted 4 faces" in report.unlisted[group_id]
    assert not report.ok


def _schema(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT schema FROM job WHERE id = 1").fetchone()[0])
    finally:
        conn.close()


async def test_a_previous_release_journal_that_gains_a_rejection_says_schema_3(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    """The release before confirmation reads journals of schema <= 2 and knows no
    'rejected' status: it crashed on such a row ("'rejected' is not a valid Status") and its
    enroll sent the item again. Once a journal holds one it must say schema 3, which that
    release refuses cleanly as written by a newer version."""
    journal = tmp_path / "old.sqlite"
    await enroll(client, _uploads(group_id, 3), journal=journal).run()
    conn = sqlite3.connect(journal)
    conn.executescript("UPDATE job SET schema = 2; DROP TABLE confirmations;")
    conn.close()
    gone = cloud.faces_in(group_id)[0].face_id
    await client.faces.delete(group_id, [gone])  # the platform refused it after all
    report = await enroll(
        client, _uploads(group_id, 3), journal=journal, confirm="listing", confirm_wait=0
    ).run()
    assert report.counts[Outcome.REJECTED] == 1
    assert _schema(journal) == 3


@pytest.mark.parametrize(
    "payload",
    [
        {"face_id": "F1", "code": "\u00b2"},  # a superscript: str.isdigit() says yes, int() no
        {"face_id": "F1", "code": "--5"},
        {"face_id": "F1", "code": "1" * 5000},  # over int()'s digit limit
        {"face_id": "F1", "code": 2**70},  # no SQLite integer holds it
        {"face_id": "F1", "code": "\u0665"},  # an Arabic-Indic five: not a code on the wire
        {"face_id": "F" * 65, "code": 0},  # longer than record_confirmation takes
        {"face_id": "F1", "code": 1.0},
        {"face_id": ["F1"], "code": 0},
    ],
)
def test_a_push_payload_that_cannot_be_recorded_is_not_understood(
    payload: dict[str, Any],
) -> None:
    """``read_push_payload`` says "not a face outcome" (None) instead of raising, or of
    handing ``record_confirmation`` what it refuses: the receiver then acknowledges a push
    it cannot use, instead of answering 500 to each of the platform's retries."""
    assert read_push_payload(payload) is None


def test_read_push_payload_reads_decimal_codes_and_keeps_unicode_reasons() -> None:
    assert read_push_payload({"face_id": "F1", "code": "-6001", "msg": "無臉 \x1b[2J"}) == (
        "F1",
        -6001,
        "無臉 \x1b[2J",
    )
    assert read_push_payload({"face_id": "F1", "code": 0, "msg": 5}) == ("F1", 0, "")


def test_record_confirmation_refuses_a_code_no_sqlite_integer_holds(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite"
    conn = sqlite3.connect(journal)
    conn.execute("CREATE TABLE items (key TEXT)")
    conn.close()
    with pytest.raises(ValueError, match="code must be an integer"):
        record_confirmation(journal, "F1", 2**63)


def _tables(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return sorted(
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        )
    finally:
        conn.close()


async def test_verify_of_a_sync_journal_is_one_clear_error_and_leaves_the_file_alone(
    client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    """A sync journal holds no enroll items: verify said "ok" with 0 done (exit 0) and
    added the enroll tables to the sync job's file."""
    journal = tmp_path / "sync.sqlite"
    rows = [FaceUpload(group_id, picture(i), external_key=f"k{i}", line=i + 1) for i in range(2)]
    await sync(client, rows, external_key_slot=1, journal=journal)
    before = _tables(journal)
    with pytest.raises(JournalError) as refused:
        await verify(client, journal)
    assert refused.value.kind == "foreign"
    assert str(refused.value) == (
        f"{journal} is not an enroll journal (a sync journal?): it has no items table"
    )
    assert _tables(journal) == before
    with pytest.raises(JournalError, match="is not an enroll journal"):
        await enroll(client, rows, journal=journal, resume=True).run()
    assert _tables(journal) == before


@attrs.frozen
class _Push:
    """What ``confirmation_handler`` reads of a verified ``PushEvent``."""

    payload: dict[str, Any]
    event: int = FAKE_FACE_ADDED_EVENT


async def test_a_push_naming_another_group_does_not_confirm_the_item(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    """A word on face F of group OTHER says nothing of the item that put F in its own
    group (face ids need not be unique across groups or stores): it must not end DONE."""
    journal = tmp_path / "job.sqlite"
    rows = _uploads(group_id, 2)
    await enroll(client, rows, journal=journal).run()
    mine, theirs = (f.face_id for f in cloud.faces_in(group_id))
    handle = confirmation_handler(journal)
    await handle(_Push({"face_id": mine, "group_id": group_id, "code": 0, "msg": "succeed"}))
    await handle(_Push({"face_id": theirs, "group_id": "OTHER", "code": 0, "msg": "succeed"}))
    report = await enroll(client, rows, journal=journal, confirm="push", confirm_wait=0.3).run()
    assert report.counts[Outcome.SKIPPED] == 1  # confirmed by the push for its own group
    assert report.counts[Outcome.UNCONFIRMED] == 1
    (unconfirmed,) = [
        r.face_id for r in await _results(client, rows, journal) if r.outcome is Outcome.UNCONFIRMED
    ]
    assert unconfirmed == theirs


async def _results(client: AsyncSunmiFace, rows: list[FaceUpload], journal: Path) -> list[Any]:
    job = enroll(client, rows, journal=journal, confirm="push", confirm_wait=0.2)
    async with job:
        return [r async for r in job]


async def test_confirm_wait_bounds_the_listing_wait_when_the_journal_is_from_the_future(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    """Acceptance times come from the wall clock of whichever machine ran the job: a
    journal written by a machine whose clock was an hour ahead (or read after the clock was
    set back) must not make the job wait that hour instead of ``confirm_wait``."""
    journal = tmp_path / "job.sqlite"
    rows = _uploads(group_id, 3)
    await enroll(client, rows[:2], journal=journal).run()
    conn = sqlite3.connect(journal)
    conn.execute("UPDATE items SET updated_at = updated_at + 3600")
    conn.commit()
    conn.close()
    with anyio.fail_after(10):  # confirm_wait + the listing, generously
        report = await enroll(
            client, rows, journal=journal, confirm="listing", confirm_wait=0.2
        ).run()
    assert report.confirmed == 3


async def test_verify_of_a_chain_journal_lists_each_group_in_its_own_store(
    tmp_path: Path,
) -> None:
    """A chain job's groups live in their stores: verify listed them all through the
    client's own store, so the other stores' items were "not checked" (group not found)."""
    cloud = FakeSunmiCloud(seed=5)
    groups: dict[str, str] = {}
    for shop in ("S1", "S2"):
        async with cloud.client(sunmi_shop_no=shop) as client:
            groups[shop] = (await client.groups.create("VIP")).group_id
    rows = [
        FaceUpload(groups[shop], picture(i), sunmi_shop_no=shop, external_key=f"k/{i}", line=i)
        for i in range(3)
        for shop in ("S1", "S2")
    ]
    journal = tmp_path / "chain.sqlite"
    async with cloud.client(sunmi_shop_no="S1") as client:
        await enroll(client, rows, journal=journal).run()
        gone = cloud.faces_in(groups["S2"], "S2")[0].face_id
        await client.with_shop(sunmi_shop_no="S2").faces.delete(groups["S2"], [gone])
        report = await verify(client, journal)
    assert (report.present, report.unchecked, report.unlisted) == (5, 0, {})
    assert [m["face_id"] for m in report.missing] == [gone]


async def test_verify_of_external_keys_with_a_slash_lists_the_clients_own_store(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    rows = [FaceUpload(group_id, picture(i), external_key=f"dept/{i}", line=i) for i in range(3)]
    journal = tmp_path / "job.sqlite"
    await enroll(client, rows, journal=journal).run()
    report = await verify(client, journal)
    assert (report.present, report.unchecked, report.missing) == (3, 0, [])


class _FailingGroups(ShortGroups):
    """``client.groups`` whose listing fails on its second page (a listing cut midway)."""

    async def list_faces(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("page_num", 1) > 1:
            raise ConnectionError("the connection dropped on page 2")
        return await self._real.list_faces(*args, **kwargs)


class _Failing(ShortListing):
    def __init__(self, client: AsyncSunmiFace) -> None:
        super().__init__(client)
        self.groups = _FailingGroups(client.groups)


async def test_a_listing_cut_midway_leaves_every_item_of_the_group_unconfirmed(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    rows = _uploads(group_id, 120)  # two pages of 100
    report = await enroll(
        _Failing(client), rows, journal=tmp_path / "j.sqlite", confirm="listing", confirm_wait=0
    ).run()
    assert len(cloud.faces_in(group_id)) == 120
    assert report.counts[Outcome.UNCONFIRMED] == 120
    assert report.counts[Outcome.REJECTED] == report.confirmed == 0
    (why,) = {i["reason"] for i in report.named(Outcome.UNCONFIRMED)}
    assert why.startswith(f"could not list group {group_id} to confirm: ")


async def test_pushes_recorded_before_the_uploads_answers_confirm_them(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    """A push can overtake the upload's answer (or its journal write): the word is kept by
    face_id and found once the item is done. The fake's ids are sequential, so the test
    records the words for the next faces before they are even uploaded."""
    journal = tmp_path / "j.sqlite"
    rows = _uploads(group_id, 4)
    await enroll(client, rows[:1], journal=journal).run()
    (first,) = (int(f.face_id) for f in cloud.faces_in(group_id))
    for n in range(4):
        record_confirmation(journal, str(first + n), 6001 if n == 3 else 0, "no face found")
    with anyio.fail_after(4):  # far less than confirm_wait: every word is already there
        report = await enroll(client, rows, journal=journal, confirm="push", confirm_wait=30).run()
    assert {f.face_id for f in cloud.faces_in(group_id)} == {str(first + n) for n in range(4)}
    assert (report.confirmed, report.counts[Outcome.REJECTED]) == (3, 1)


@pytest.mark.parametrize("wait", [float("nan"), float("inf")])
def test_confirm_wait_must_be_a_finite_number_of_seconds(wait: float) -> None:
    """``nan < 0`` is false: confirm_wait=nan was taken, and a push wait whose deadline is
    nan never ends (nor does inf)."""
    with pytest.raises(ValueError, match="confirm_wait must be a finite number of seconds"):
        enroll(object(), [], confirm="push", confirm_wait=wait, journal="j.sqlite")  # type: ignore[arg-type]
