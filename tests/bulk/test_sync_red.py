"""``bulk.sync`` under attack: a replace killed at each step converges to one face, a
listing shorter than the server's own count aborts the plan, a key with stray whitespace
is refused (and protects its face from prune), a plan refuses the pictures the apply refuses,
and a face listed twice is not its own duplicate."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import attrs
import pytest

from sunmi_face_async import AsyncSunmiFace, ProtocolError
from sunmi_face_async.bulk import JournalMismatchError, Outcome, SyncAction, SyncJournal, sync
from sunmi_face_async.testing import FakeSunmiCloud

from .conftest import ShortListing, picture
from .test_sync import SLOT, Spied, _contains, _Died, keys_on_server, row, writes


@pytest.mark.parametrize("deaths", [("add", "delete"), ("delete",), ("delete", "delete")])
async def test_a_replace_killed_after_its_add_then_killed_again_at_the_delete_converges(
    cloud: FakeSunmiCloud,
    client: AsyncSunmiFace,
    group_id: str,
    tmp_path: Path,
    deaths: tuple[str, ...],
) -> None:
    """A run dies once the new face landed (``add``: the answer never recorded) or as it
    deletes the old face (``delete``), and the next ones die deleting it again: the run
    after must delete the old face: one face per key, the new one."""
    journal = tmp_path / "sync.sqlite"
    rows = [row(tmp_path, 1, group_id)]
    await sync(client, rows, external_key_slot=SLOT, journal=journal)
    (old,) = (f.face_id for f in cloud.faces_in(group_id))
    (tmp_path / "p1.jpg").write_bytes(picture(101))

    async def add_then_die(real: Any, *args: Any, **kwargs: Any) -> str:
        await real(*args, **kwargs)
        raise _Died

    async def die(real: Any, *args: Any, **kwargs: Any) -> None:
        raise _Died

    for death in deaths:
        hooks = {"add": add_then_die} if death == "add" else {"delete": die}
        with pytest.raises(BaseException) as died:  # noqa: PT011 - whatever group wraps it
            await sync(
                Spied(client, **hooks), rows, external_key_slot=SLOT, journal=journal, settle=0
            )
        assert _contains(died.value, _Died)
        assert keys_on_server(cloud, group_id) == Counter({"k1": 2})

    report = await sync(client, rows, external_key_slot=SLOT, journal=journal, settle=0)
    assert keys_on_server(cloud, group_id) == Counter({"k1": 1})
    assert [f.face_id for f in cloud.faces_in(group_id)] != [old]
    assert report.counts["duplicates"] == 0
    cloud.reset_stats()
    again = await sync(client, rows, external_key_slot=SLOT, journal=journal, settle=0)
    assert again.changes == 0
    assert writes(cloud) == {}


async def test_a_listing_short_of_the_servers_own_count_aborts_before_any_write(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    rows = [row(tmp_path, n, group_id) for n in range(3)]
    await sync(client, rows, external_key_slot=SLOT)
    cloud.reset_stats()
    for prune in (False, True):
        with pytest.raises(ProtocolError) as short:
            await sync(ShortListing(client), rows, external_key_slot=SLOT, prune=prune)
        assert f"group {group_id}" in str(short.value)
        assert "counted 3 faces, its pages brought 2" in str(short.value)
    assert writes(cloud) == {}
    assert keys_on_server(cloud, group_id) == Counter({"k0": 1, "k1": 1, "k2": 1})


async def test_a_key_with_stray_whitespace_is_invalid_and_its_face_is_not_pruned(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    await client.faces.add(group_id, pic=picture(1), name="person 1", customer_values=["k1"])
    rows = [row(tmp_path, 1, group_id, external_key="k1 "), row(tmp_path, 2, group_id)]
    report = await sync(client, rows, external_key_slot=SLOT, prune=True)
    assert [(i.key, i.action, i.error) for i in report.items] == [
        (
            "k1 ",
            SyncAction.INVALID,
            "external_key 'k1 ' has leading or trailing whitespace",
        ),
        ("k2", SyncAction.ADD, None),
    ]
    assert report.counts["delete"] == 0
    assert keys_on_server(cloud, group_id) == Counter({"k1": 1, "k2": 1})


async def test_a_plan_refuses_the_pictures_an_apply_refuses_and_the_apply_fails_the_run(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    """A missing file, a file that is no picture, and one over the 1 MB limit: the plan
    lists them invalid with the apply's own message, sends nothing, and the apply counts
    them invalid (the run is not ok) instead of adding them or calling them failed."""
    missing = attrs.evolve(row(tmp_path, 1, group_id), pic=tmp_path / "nope.jpg")
    (tmp_path / "text.jpg").write_bytes(b"not a picture at all")
    not_picture = attrs.evolve(row(tmp_path, 2, group_id), pic=tmp_path / "text.jpg")
    (tmp_path / "big.jpg").write_bytes(picture(3) + b"\x00" * (1024 * 1024))
    too_big = attrs.evolve(row(tmp_path, 3, group_id), pic=tmp_path / "big.jpg")
    rows = [missing, not_picture, too_big, row(tmp_path, 4, group_id)]

    plan = await sync(client, rows, external_key_slot=SLOT, plan_only=True)
    assert writes(cloud) == {}
    planned = {i.key: (i.action, i.error) for i in plan.items}
    assert planned["k4"] == (SyncAction.ADD, None)
    assert {k: a for k, (a, _) in planned.items() if k != "k4"} == {
        "k1": SyncAction.INVALID,
        "k2": SyncAction.INVALID,
        "k3": SyncAction.INVALID,
    }
    assert (plan.counts["add"], plan.invalid) == (1, 3)

    applied = await sync(client, rows, external_key_slot=SLOT)
    assert {i.key: i.error for i in applied.items if i.key != "k4"} == {
        k: error for k, (_, error) in planned.items() if k != "k4"
    }
    assert all(i.outcome is Outcome.INVALID for i in applied.items if i.key != "k4")
    assert (applied.counts["add"], applied.invalid) == (1, 3)
    assert not applied.ok
    assert writes(cloud) == {"/face/add": 1}
    assert keys_on_server(cloud, group_id) == Counter({"k4": 1})


class _Twice:
    """A client whose ``groups.list`` names every group twice (a server in flux, or one
    that repeats itself): each face is listed twice."""

    def __init__(self, client: AsyncSunmiFace) -> None:
        self._client = client
        self.groups = _TwiceGroups(client.groups)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class _TwiceGroups:
    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    async def list(self, *args: Any, **kwargs: Any) -> Any:
        groups = await self._real.list(*args, **kwargs)
        return [*groups, *groups]


async def test_a_face_listed_twice_is_one_face_not_its_own_duplicate_to_prune(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    rows = [row(tmp_path, n, group_id) for n in range(2)]
    await sync(client, rows, external_key_slot=SLOT)
    cloud.reset_stats()
    report = await sync(_Twice(client), rows, external_key_slot=SLOT, prune=True)
    assert report.counts["unchanged"] == 2
    assert (report.counts["duplicates"], report.counts["delete"]) == (0, 0)
    assert writes(cloud) == {}
    assert keys_on_server(cloud, group_id) == Counter({"k0": 1, "k1": 1})


async def test_prune_from_a_manifest_with_no_row_deletes_nothing(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    """A manifest with no row (a header-only file, an export of the wrong store) says
    nothing about the group: prune would empty it. It holds back, and says why."""
    rows = [row(tmp_path, n, group_id) for n in range(3)]
    await sync(client, rows, external_key_slot=SLOT)
    cloud.reset_stats()
    said: list[str] = []
    report = await sync(
        client,
        [],
        external_key_slot=SLOT,
        prune=True,
        groups=[group_id],
        on_event=lambda event: said.append(event.detail),
    )
    assert report.counts["delete"] == 0
    assert writes(cloud) == {}
    assert keys_on_server(cloud, group_id) == Counter({"k0": 1, "k1": 1, "k2": 1})
    assert "not pruning: the manifest holds no row (prune would empty the target groups)" in said


async def test_prune_holds_back_when_a_row_carries_no_key(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    """A row without a key means some face sync cannot name: as for an unreadable row,
    nothing is pruned (that face may be the one prune would delete)."""
    await client.faces.add(group_id, pic=picture(7), name="person 7", customer_values=["k7"])
    said: list[str] = []
    entries = [row(tmp_path, 1, group_id), row(tmp_path, 7, group_id, external_key=None)]
    report = await sync(
        client,
        entries,
        external_key_slot=SLOT,
        prune=True,
        on_event=lambda event: said.append(event.detail),
    )
    assert (report.counts["add"], report.counts["delete"], report.invalid) == (1, 0, 1)
    assert keys_on_server(cloud, group_id) == Counter({"k1": 1, "k7": 1})
    assert "not pruning: 1 manifest row(s) could not be read or carry no external_key" in said


async def test_a_replace_whose_add_answers_the_old_face_id_does_not_delete_it(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    """A hostile (or confused) server answers the new face's add with the old face's id:
    deleting "the old face" would delete the only one the key has."""
    journal = tmp_path / "sync.sqlite"
    rows = [row(tmp_path, 1, group_id)]
    await sync(client, rows, external_key_slot=SLOT, journal=journal)
    (old,) = (f.face_id for f in cloud.faces_in(group_id))
    (tmp_path / "p1.jpg").write_bytes(picture(101))

    async def same_id(real: Any, *args: Any, **kwargs: Any) -> str:
        return old

    report = await sync(
        Spied(client, add=same_id), rows, external_key_slot=SLOT, journal=journal, settle=0
    )
    assert [f.face_id for f in cloud.faces_in(group_id)] == [old]
    (item,) = report.items
    assert item.outcome is Outcome.FAILED
    assert item.error == (
        f"the server answered the add with the old face's id {old}: it is kept, not deleted"
    )


def test_a_resume_compares_only_what_the_last_run_recorded(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    identity = {"store": "S1", "operation": "sync"}
    first = SyncJournal(path)
    first.open(identity, run={"prune": False}, record_run=True)
    first.close()
    again = SyncJournal(path, resume=True)
    again.open(identity, run={"prune": False, "manifest": "abc"}, record_run=True)
    again.close()
    changed = SyncJournal(path, resume=True)
    with pytest.raises(JournalMismatchError) as refused:
        changed.open(identity, run={"prune": True, "manifest": "abc"})
    assert refused.value.differences == [("prune", False, True)]
    other = SyncJournal(path, resume=True)
    with pytest.raises(JournalMismatchError) as refused:
        other.open(identity, run={"prune": False, "manifest": "xyz"})
    assert refused.value.differences == [("manifest", "abc", "xyz")]
