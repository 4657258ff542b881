"""``bulk.sync``: each action planned and applied against the fake, prune, duplicates, the
replace order, a second run that sends no write, and the journal's identity."""

from __future__ import annotations

import inspect
from collections import Counter
from pathlib import Path
from typing import Any

import attrs
import pytest

from sunmi_face_async import AsyncSunmiFace
from sunmi_face_async.bulk import (
    FaceUpload,
    JournalError,
    JournalMismatchError,
    ManifestError,
    Outcome,
    SyncAction,
    SyncOptions,
    in_shard,
    sync,
)
from sunmi_face_async.testing import FakeSunmiCloud

from .conftest import picture

SLOT = 1
WRITES = ("/face/add", "/face/update", "/face/delete", "/face/group/move")


class _Died(BaseException):
    """Stands for the process being killed."""


def _contains(exc: BaseException, kind: type[BaseException]) -> bool:
    inner = getattr(exc, "exceptions", ())
    return isinstance(exc, kind) or any(_contains(e, kind) for e in inner)


def writes(cloud: FakeSunmiCloud) -> dict[str, int]:
    seen = cloud.stats.requests_by_endpoint
    return {path: seen[path] for path in WRITES if seen[path]}


def row(tmp: Path, n: int, group_id: str, **fields: object) -> FaceUpload:
    """Manifest row ``n`` (key ``k<n>``); its picture is a file written now."""
    path = tmp / f"p{n}.jpg"
    if not path.exists():
        path.write_bytes(picture(n))
    values = dict(name=f"person {n}", external_key=f"k{n}", line=n + 1)
    values.update(fields)
    return FaceUpload(group_id=group_id, pic=path, **values)  # type: ignore[arg-type]


class _Faces:
    """``client.faces`` with some calls wrapped: ``hook(real_call, *args, **kwargs)``."""

    def __init__(self, real: Any, hooks: dict[str, Any]) -> None:
        self._real, self._hooks = real, hooks

    def __getattr__(self, name: str) -> Any:
        real, hook = getattr(self._real, name), self._hooks.get(name)
        if hook is None:
            return real

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await hook(real, *args, **kwargs)

        return call


class Spied:
    """A client whose face calls pass through test hooks (``add=``, ``delete=``)."""

    def __init__(self, client: AsyncSunmiFace, **hooks: Any) -> None:
        self._client = client
        self.faces = _Faces(client.faces, hooks)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def keys_on_server(cloud: FakeSunmiCloud, group_id: str) -> Counter[str]:
    return Counter(face.customer_value(SLOT) for face in cloud.faces_in(group_id))


async def test_first_sync_adds_then_a_second_plans_nothing_and_sends_no_write(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    rows = [row(tmp_path, n, group_id) for n in range(12)]
    journal = tmp_path / "sync.sqlite"
    first = await sync(client, rows, external_key_slot=SLOT, journal=journal)
    assert first.counts["add"] == 12
    assert first.outcomes == {"done": 12}
    assert keys_on_server(cloud, group_id) == Counter(f"k{n}" for n in range(12))

    cloud.reset_stats()
    second = await sync(client, rows, external_key_slot=SLOT, journal=journal)
    assert second.plan_dict() == {
        "add": 0,
        "update": 0,
        "move": 0,
        "delete": 0,
        "replace": 0,
        "unchanged": 12,
        "duplicates": 0,
        "items": [],
    }
    assert writes(cloud) == {}
    assert cloud.stats.requests_by_endpoint["/face/group/getFaceList"] >= 1


async def test_each_action_is_planned_then_applied(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    other = (await client.groups.create("other", capacity=100)).group_id
    journal = tmp_path / "sync.sqlite"
    base = [row(tmp_path, n, group_id) for n in range(5)]
    await sync(client, base, external_key_slot=SLOT, journal=journal)
    # k4 sits in the other group now; k3's picture file changes; k1 gets a new name.
    k4 = next(f for f in cloud.faces_in(group_id) if f.customer_value(SLOT) == "k4")
    await client.groups.move_faces(group_id, other, [k4.face_id])
    (tmp_path / "p3.jpg").write_bytes(picture(303))
    wanted = [
        base[0],
        row(tmp_path, 1, group_id, name="renamed", gender=2),
        base[2],
        base[3],
        base[4],
        row(tmp_path, 5, group_id),
    ]

    plan = await sync(client, wanted, external_key_slot=SLOT, journal=journal, plan_only=True)
    by_key = {item.key: item for item in plan.items}
    assert {k: i.action for k, i in by_key.items()} == {
        "k1": SyncAction.UPDATE,
        "k3": SyncAction.REPLACE,
        "k4": SyncAction.MOVE,
        "k5": SyncAction.ADD,
    }
    assert by_key["k1"].changes == ("name", "gender")
    assert by_key["k4"].source_group == other
    assert by_key["k4"].group == group_id
    assert plan.counts["unchanged"] == 2
    assert writes(cloud) == {"/face/add": 5, "/face/group/move": 1}  # only the setup's

    old_k3 = next(f for f in cloud.faces_in(group_id) if f.customer_value(SLOT) == "k3")
    applied = await sync(client, wanted, external_key_slot=SLOT, journal=journal)
    assert applied.outcomes == {"done": 4}, applied.as_dict()
    faces = {f.customer_value(SLOT): f for f in cloud.faces_in(group_id)}
    assert sorted(faces) == [f"k{n}" for n in range(6)]
    assert faces["k1"].name == "renamed"
    assert int(faces["k1"].gender or 0) == 2
    assert faces["k3"].face_id != old_k3.face_id
    assert cloud.picture_digest(faces["k3"].face_id)[1] == len(picture(303))
    assert cloud.faces_in(other) == []
    again = await sync(client, wanted, external_key_slot=SLOT, journal=journal)
    assert again.changes == 0
    assert again.counts["unchanged"] == 6


async def test_replace_adds_the_new_face_before_deleting_the_old_one(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    journal = tmp_path / "sync.sqlite"
    await sync(client, [row(tmp_path, 1, group_id)], external_key_slot=SLOT, journal=journal)
    (tmp_path / "p1.jpg").write_bytes(picture(101))
    order: list[str] = []
    faces_during: list[int] = []

    async def add(real: Any, *args: Any, **kwargs: Any) -> str:
        order.append("add")
        return str(await real(*args, **kwargs))

    async def delete(real: Any, *args: Any, **kwargs: Any) -> None:
        order.append("delete")
        faces_during.append(len(cloud.faces_in(group_id)))
        await real(*args, **kwargs)

    spied = Spied(client, add=add, delete=delete)
    report = await sync(
        spied, [row(tmp_path, 1, group_id)], external_key_slot=SLOT, journal=journal
    )
    assert report.counts["replace"] == 1
    assert report.outcomes == {"done": 1}
    assert order == ["add", "delete"]
    assert faces_during == [2]  # the new face was there while the old one went
    assert keys_on_server(cloud, group_id) == Counter({"k1": 1})


async def test_no_picture_record_counts_as_unchanged_unless_replace_pictures(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    await client.faces.add(group_id, pic=picture(9), name="person 1", customer_values=["k1"])
    rows = [row(tmp_path, 1, group_id)]
    plain = await sync(
        client, rows, external_key_slot=SLOT, journal=tmp_path / "a.sqlite", plan_only=True
    )
    assert plain.counts["unchanged"] == 1
    assert plain.counts["replace"] == 0
    forced = await sync(
        client, rows, external_key_slot=SLOT, journal=tmp_path / "b.sqlite", replace_pictures=True
    )
    assert forced.counts["replace"] == 1
    assert forced.outcomes == {"done": 1}
    face = cloud.faces_in(group_id)[0]
    assert cloud.picture_digest(face.face_id)[1] == len(picture(1))
    # Now the journal knows the picture: no replace again, even with replace_pictures.
    cloud.reset_stats()
    again = await sync(
        client, rows, external_key_slot=SLOT, journal=tmp_path / "b.sqlite", replace_pictures=True
    )
    assert again.counts["unchanged"] == 1
    assert writes(cloud) == {}


async def test_duplicates_are_reported_and_pruned_only_with_prune(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    for n in (1, 2, 3):
        await client.faces.add(group_id, pic=picture(n), name="person 1", customer_values=["k1"])
    await client.faces.add(group_id, pic=picture(7), name="stray", customer_values=["gone"])
    await client.faces.add(group_id, pic=picture(8), name="no key")
    rows = [row(tmp_path, 1, group_id)]

    kept = await sync(client, rows, external_key_slot=SLOT)
    assert kept.counts["duplicates"] == 2
    assert kept.counts["delete"] == 0
    assert {i.action for i in kept.items} == {SyncAction.DUPLICATE}
    assert len(cloud.faces_in(group_id)) == 5
    assert writes(cloud) == {"/face/add": 5}

    pruned = await sync(client, rows, external_key_slot=SLOT, prune=True)
    assert pruned.counts["duplicates"] == 2
    assert pruned.counts["delete"] == 2  # "gone" and the face without a key
    assert pruned.outcomes == {"done": 4}
    assert keys_on_server(cloud, group_id) == Counter({"k1": 1})


async def test_prune_holds_back_when_a_manifest_row_is_unreadable(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    await client.faces.add(group_id, pic=picture(7), name="maybe", customer_values=["k7"])
    entries = [row(tmp_path, 1, group_id), ManifestError(3, "bad JSON", "m.jsonl")]
    report = await sync(client, entries, external_key_slot=SLOT, prune=True)
    assert report.invalid == 1
    assert report.counts["delete"] == 0
    assert keys_on_server(cloud, group_id) == Counter({"k1": 1, "k7": 1})


async def test_bad_rows_are_invalid_items_naming_the_problem(
    client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    entries = [
        row(tmp_path, 1, group_id),
        row(tmp_path, 1, group_id, line=9),
        row(tmp_path, 2, group_id, external_key=None),
        row(tmp_path, 3, "999"),
    ]
    report = await sync(client, entries, external_key_slot=SLOT, plan_only=True)
    errors = [(i.line, i.error) for i in report.items if i.action is SyncAction.INVALID]
    assert errors == [  # in manifest order
        (3, "external_key is missing: sync matches faces by it"),
        (4, "group_id '999' is not a group of this store"),
        (9, "external_key 'k1' repeats line 2"),
    ]
    assert report.counts["add"] == 1
    assert not report.ok


async def test_shards_split_the_keys_and_together_cover_them(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    rows = [row(tmp_path, n, group_id) for n in range(40)]
    added = []
    for k in range(3):
        report = await sync(
            client, rows, external_key_slot=SLOT, shard=(k, 3), journal=tmp_path / f"{k}.sqlite"
        )
        added.append(report.counts["add"])
        assert report.other_shards == 40 - report.counts["add"]
    assert sum(added) == 40
    assert all(added)
    assert keys_on_server(cloud, group_id) == Counter(f"k{n}" for n in range(40))


async def test_a_journal_of_another_job_is_refused_and_resume_needs_one(
    client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    journal = tmp_path / "sync.sqlite"
    rows = [row(tmp_path, 1, group_id)]
    await sync(client, rows, external_key_slot=SLOT, journal=journal)
    with pytest.raises(JournalMismatchError) as refused:
        await sync(client, rows, external_key_slot=2, journal=journal)
    assert refused.value.differences == [("external_key_slot", 1, 2)]
    with pytest.raises(JournalMismatchError):
        await sync(client, rows, external_key_slot=SLOT, journal=journal, shard=(0, 2))
    missing = tmp_path / "none.sqlite"
    with pytest.raises(JournalError) as no_journal:
        await sync(client, rows, external_key_slot=SLOT, journal=missing, resume=True)
    assert no_journal.value.kind == "missing"
    assert not missing.exists()


async def test_an_add_left_in_flight_that_landed_is_adopted_not_sent_again(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    """A run killed after its add reached the server: the journal says in flight, the
    server holds the face; the next run finds it by key and sends nothing."""
    journal = tmp_path / "sync.sqlite"
    rows = [row(tmp_path, 1, group_id)]

    async def add_then_die(real: Any, *args: Any, **kwargs: Any) -> str:
        await real(*args, **kwargs)
        raise _Died  # the process dies before the answer is recorded

    with pytest.raises(BaseException) as died:  # noqa: PT011 - whatever group wraps it
        await sync(Spied(client, add=add_then_die), rows, external_key_slot=SLOT, journal=journal)
    assert _contains(died.value, _Died)
    cloud.reset_stats()
    report = await sync(client, rows, external_key_slot=SLOT, journal=journal, settle=0)
    assert report.counts["unchanged"] == 1
    assert writes(cloud) == {}
    # The adopted record knows the picture: a changed file is now a replace.
    (tmp_path / "p1.jpg").write_bytes(picture(111))
    plan = await sync(client, rows, external_key_slot=SLOT, journal=journal, plan_only=True)
    assert plan.counts["replace"] == 1


async def test_an_unknown_add_is_reconciled_by_key(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    cloud.faults.commit_then_timeout_rate = 1.0
    cloud.faults.endpoints = ["/face/add"]
    rows = [row(tmp_path, n, group_id) for n in range(3)]
    calls = 0

    async def add(real: Any, *args: Any, **kwargs: Any) -> str:
        nonlocal calls
        calls += 1
        if calls == 3:
            cloud.faults.commit_then_timeout_rate = 0.0
        return str(await real(*args, **kwargs))

    report = await sync(
        Spied(client, add=add), rows, external_key_slot=SLOT, settle=0, concurrency=1
    )
    assert report.outcomes == {"done": 3}, report.as_dict()
    assert calls == 3  # every add landed once: reconciliation found them, none sent again
    assert keys_on_server(cloud, group_id) == Counter({"k0": 1, "k1": 1, "k2": 1})
    assert all(i.outcome is Outcome.DONE and i.new_face_id for i in report.items)


async def test_a_shard_prunes_its_keys_in_a_group_whose_rows_all_fell_in_other_shards(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    """The target groups are those the whole manifest names, not only this shard's rows."""
    stray = "gone-1"
    shard = (0, 2) if in_shard(stray, (0, 2)) else (1, 2)
    await client.faces.add(group_id, pic=picture(50), name="stray", customer_values=[stray])
    others = [n for n in range(40) if not in_shard(f"k{n}", shard)][:3]
    rows = [row(tmp_path, n, group_id) for n in others]
    report = await sync(client, rows, external_key_slot=SLOT, prune=True, shard=shard)
    assert report.counts["add"] == 0
    assert report.counts["delete"] == 1
    assert keys_on_server(cloud, group_id) == Counter()


async def test_a_row_may_name_its_group_by_name_and_a_group_id_of_its_own_store(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str, tmp_path: Path
) -> None:
    """A row naming another store is planned in that store: this store's group id is not
    one of its groups."""
    entries = [
        row(tmp_path, 1, "", group="bulk"),
        row(tmp_path, 2, "", group="nope"),
        row(tmp_path, 3, group_id, sunmi_shop_no="999999"),
        row(tmp_path, 4, group_id, sunmi_shop_no=cloud.shop_no),
    ]
    report = await sync(client, entries, external_key_slot=SLOT)
    assert sorted((i.key, i.action, i.error) for i in report.items) == [
        ("k1", SyncAction.ADD, None),
        ("k2", SyncAction.INVALID, "group 'nope': no group of this store has that name"),
        (
            "k3",
            SyncAction.INVALID,
            f"group_id {group_id!r} is not a group of store '999999'",
        ),
        ("k4", SyncAction.ADD, None),
    ]
    assert keys_on_server(cloud, group_id) == Counter({"k1": 1, "k4": 1})


async def test_the_keywords_are_the_options_and_the_slot_is_required(
    client: AsyncSunmiFace,
) -> None:
    params = inspect.signature(sync).parameters
    keywords = {n: p.default for n, p in params.items() if p.kind is p.KEYWORD_ONLY}
    fields = {
        n: None if f.default is attrs.NOTHING else f.default
        for n, f in attrs.fields_dict(SyncOptions).items()
    }
    assert keywords == fields
    with pytest.raises(ValueError, match="external_key_slot is required"):
        await sync(client, [])
    with pytest.raises(ValueError, match="external_key_slot must be 1 to 5"):
        await sync(client, [], external_key_slot=6)
    with pytest.raises(TypeError, match=r"not both \(got prune\)"):
        await sync(client, [], SyncOptions(external_key_slot=1), prune=True)
