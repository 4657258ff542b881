"""``bulk.sync`` over a chain: rows grouped by their store, each store listed and planned on
its own, applied side by side, journaled per store, pruned per store, reported by store."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import attrs
import pytest

from sunmi_face_async.bulk import FaceUpload, ManifestError, Outcome, SyncAction, sync
from sunmi_face_async.bulk._sync_journal import PictureRecord, SyncJournal
from sunmi_face_async.bulk._sync_view import StoreJournal
from sunmi_face_async.errors import ShopNotFoundError
from sunmi_face_async.testing import FakeCloudServer, FakeSunmiCloud
from sunmi_face_async.testing.pictures import tiny_png

from .conftest import picture

SLOT = 1
OWN = "S1"
STORES = ("S1", "S2", "S3")
WRITES = ("/face/add", "/face/update", "/face/delete", "/face/group/move")


def writes(cloud: FakeSunmiCloud) -> dict[str, int]:
    seen = cloud.stats.requests_by_endpoint
    return {path: seen[path] for path in WRITES if seen[path]}


async def groups(cloud: FakeSunmiCloud, stores: tuple[str, ...] = STORES) -> dict[str, str]:
    ids = {}
    for shop in stores:
        async with cloud.client(sunmi_shop_no=shop) as client:
            ids[shop] = (await client.groups.create("VIP", customer_keys=["ext"])).group_id
    return ids


def rows(tmp: Path, stores: tuple[str, ...], keys: int, **fields: object) -> list[FaceUpload]:
    """Keys k0..k<keys-1> in each store, interleaved; each store's own picture files."""
    out = []
    line = 1
    for n in range(keys):
        for s, shop in enumerate(stores):
            path = tmp / f"{shop}-{n}.jpg"
            if not path.exists():
                path.write_bytes(picture(100 * s + n))
            line += 1
            values = dict(name=f"{shop} person {n}", external_key=f"k{n}", line=line)
            values.update(fields)
            out.append(
                FaceUpload(group_id="", group="VIP", pic=path, sunmi_shop_no=shop, **values)  # type: ignore[arg-type]
            )
    return out


def keys_in(cloud: FakeSunmiCloud, group_id: str, shop: str) -> Counter[str]:
    return Counter(f.customer_value(SLOT) for f in cloud.faces_in(group_id, shop))


async def test_a_three_store_manifest_syncs_each_store_and_a_second_run_sends_no_write(
    tmp_path: Path,
) -> None:
    cloud = FakeSunmiCloud(seed=21, shop_no=OWN, shops=STORES)
    ids = await groups(cloud)
    journal = tmp_path / "sync.sqlite"
    manifest = rows(tmp_path, STORES, 3)
    async with cloud.client() as client:
        plan = await sync(client, manifest, external_key_slot=SLOT, plan_only=True)
        assert writes(cloud) == {}
        listed = plan.plan_dict()["items"]
        assert Counter((i["sunmi_shop_no"], i["action"]) for i in listed) == {
            (shop, "add"): 3 for shop in STORES
        }
        report = await sync(client, manifest, external_key_slot=SLOT, journal=journal)
        assert report.ok, report.as_dict()
        assert report.outcomes == {"done": 9}
        assert {shop: t["add"] for shop, t in report.by_store.items()} == {
            "": 3,
            "S2": 3,
            "S3": 3,
        }
        assert report.by_store["S2"]["outcomes"] == {"done": 3}
        assert report.as_dict()["by_store"]["S3"]["writes"] == {"add": 3}
        for shop in STORES:
            assert keys_in(cloud, ids[shop], shop) == Counter({"k0": 1, "k1": 1, "k2": 1})
            names = sorted(f.name for f in cloud.faces_in(ids[shop], shop))
            assert names == [f"{shop} person {n}" for n in range(3)]

        cloud.reset_stats()
        again = await sync(client, manifest, external_key_slot=SLOT, journal=journal)
    assert writes(cloud) == {}
    assert again.counts["unchanged"] == 9
    assert again.changes == 0
    assert {shop: t["unchanged"] for shop, t in again.by_store.items()} == {
        "": 3,
        "S2": 3,
        "S3": 3,
    }


async def test_the_same_key_in_two_stores_is_two_faces_and_two_journal_records(
    tmp_path: Path,
) -> None:
    cloud = FakeSunmiCloud(seed=22, shop_no=OWN, shops=STORES)
    ids = await groups(cloud)
    journal = tmp_path / "sync.sqlite"
    manifest = rows(tmp_path, ("S1", "S2"), 1)
    async with cloud.client() as client:
        await sync(client, manifest, external_key_slot=SLOT, journal=journal)
        one = cloud.faces_in(ids["S1"], "S1")
        two = cloud.faces_in(ids["S2"], "S2")
        assert len(one) == len(two) == 1
        assert one[0].face_id != two[0].face_id
        # Only S2's picture changes: only S2's face is replaced (its own journal record).
        (tmp_path / "S2-0.jpg").write_bytes(picture(999))
        cloud.reset_stats()
        report = await sync(client, manifest, external_key_slot=SLOT, journal=journal)
    assert report.counts["replace"] == 1
    assert [(i.sunmi_shop_no, i.action) for i in report.items] == [("S2", SyncAction.REPLACE)]
    assert writes(cloud) == {"/face/add": 1, "/face/delete": 1}
    assert [f.face_id for f in cloud.faces_in(ids["S1"], "S1")] == [one[0].face_id]
    assert keys_in(cloud, ids["S2"], "S2") == Counter({"k0": 1})
    conn = sqlite3.connect(journal)
    try:
        held = sorted(k for (k,) in conn.execute("SELECT key FROM pictures"))
    finally:
        conn.close()
    assert held == ["S2/k0", "k0"]


async def test_prune_stays_inside_the_named_stores_and_skips_one_with_an_invalid_row(
    tmp_path: Path,
) -> None:
    stores = ("S1", "S2", "S3", "S4")
    cloud = FakeSunmiCloud(seed=23, shop_no=OWN, shops=stores)
    ids = await groups(cloud, stores)
    for shop in stores:
        async with cloud.client(sunmi_shop_no=shop) as other:
            await other.faces.add(
                ids[shop], pic=picture(500), name="stray", customer_values=["gone"]
            )
    manifest: list[FaceUpload | ManifestError] = [*rows(tmp_path, ("S1", "S2", "S3"), 1)]
    manifest.append(ManifestError(9, "column 'picture': empty", "chain.csv", "S3"))
    async with cloud.client() as client:
        report = await sync(client, manifest, external_key_slot=SLOT, prune=True)
    assert keys_in(cloud, ids["S1"], "S1") == Counter({"k0": 1})
    assert keys_in(cloud, ids["S2"], "S2") == Counter({"k0": 1})
    # S3 had an unreadable row: nothing pruned there; S4 is not in the manifest.
    assert keys_in(cloud, ids["S3"], "S3") == Counter({"k0": 1, "gone": 1})
    assert keys_in(cloud, ids["S4"], "S4") == Counter({"gone": 1})
    assert {shop: t["delete"] for shop, t in report.by_store.items()} == {
        "": 1,
        "S2": 1,
        "S3": 0,
    }
    assert report.by_store["S3"]["invalid"] == 1


async def test_a_store_whose_listing_fails_ends_failed_and_the_others_are_done(
    tmp_path: Path,
) -> None:
    cloud = FakeSunmiCloud(seed=24, shop_no=OWN, shops=STORES)
    ids = await groups(cloud)
    manifest = rows(tmp_path, ("S1", "S9", "S2"), 2)  # S9: a store the account does not have
    async with cloud.client() as client:
        report = await sync(client, manifest, external_key_slot=SLOT)
    assert not report.ok
    assert keys_in(cloud, ids["S1"], "S1") == Counter({"k0": 1, "k1": 1})
    assert keys_in(cloud, ids["S2"], "S2") == Counter({"k0": 1, "k1": 1})
    failed = [i for i in report.items if i.sunmi_shop_no == "S9"]
    assert [(i.key, i.action, i.outcome) for i in failed] == [
        ("k0", SyncAction.UNPLANNED, Outcome.FAILED),
        ("k1", SyncAction.UNPLANNED, Outcome.FAILED),
    ]
    assert all(
        i.error is not None and i.error.startswith("store 'S9' could not be listed") for i in failed
    )
    assert report.unplanned == 2
    assert report.by_store["S9"]["outcomes"] == {"failed": 2}
    assert report.by_store["S2"]["outcomes"] == {"done": 2}


async def test_a_one_store_sync_still_raises_what_stops_its_listing() -> None:
    cloud = FakeSunmiCloud(seed=25, shop_no=OWN, shops=STORES)
    async with cloud.client(sunmi_shop_no="S9") as client:
        with pytest.raises(ShopNotFoundError):
            await sync(client, [], external_key_slot=SLOT)


def test_a_store_sees_only_its_own_actions_in_flight(tmp_path: Path) -> None:
    journal = SyncJournal(tmp_path / "j.sqlite")
    journal.open({"store": OWN}, None, record_run=True)
    try:

        async def record() -> None:
            await journal.begin("k0", "add", None, "g1", "a" * 64)
            await journal.begin("S2/k0", "add", None, "g2", "b" * 64)
            await journal.begin("S2/x/y", "update", "f1", "g2", None)

        anyio.run(record)
        own = StoreJournal(journal, "", ["", "S2/"])
        two = StoreJournal(journal, "S2/", ["", "S2/"])
        assert sorted((r.key, r.group_id) for r in own.in_flight()) == [("k0", "g1")]
        assert sorted((r.key, r.group_id) for r in two.in_flight()) == [
            ("k0", "g2"),
            ("x/y", "g2"),
        ]
    finally:
        journal.close()


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).with_name("sunmi-face")), *args]
    return subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


async def test_the_cli_syncs_a_three_store_manifest_over_http_and_prints_each_store(
    tmp_path: Path,
) -> None:
    async with FakeCloudServer(seed=26, known_shop=["S2", "S3"]) as server:
        stores = (server.shop_no, "S2", "S3")
        ids = {}
        for shop in stores:
            async with server.client(sunmi_shop_no=shop) as client:
                made = await client.groups.create("VIP", customer_keys=["ext"])
                ids[shop] = made.group_id
        path = tmp_path / "chain.jsonl"
        lines = []
        # S9: a store the account does not have (its rows fail, the others are synced)
        for n, shop in ((n, shop) for n in range(2) for shop in (*stores, "S9")):
            (tmp_path / f"{shop}-{n}.png").write_bytes(tiny_png(10 * len(shop) + n))
            row = {"sunmi_shop_no": shop, "group": "VIP", "picture": f"{shop}-{n}.png"}
            lines.append(json.dumps({**row, "external_key": f"k{n}", "name": f"{shop} {n}"}))
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SUNMI_")}
        env.update(
            SUNMI_APP_ID=server.app_id,
            SUNMI_APP_KEY=server.app_key,
            SUNMI_SHOP_NO=server.shop_no,
            SUNMI_BASE_URL=server.base_url,
        )
        base = ["sync", str(path), "--external-key-slot", "1", "--per-store-concurrency", "2"]
        plan = await anyio.to_thread.run_sync(_cli, [*base, "--plan", "--json"], env, tmp_path)
        assert plan.returncode == 1, plan.stderr  # S9 could not be planned
        items = json.loads(plan.stdout)["items"]
        assert Counter(i["sunmi_shop_no"] for i in items) == {shop: 2 for shop in (*stores, "S9")}
        assert {i["action"] for i in items if i["sunmi_shop_no"] == "S9"} == {"unplanned"}
        done = await anyio.to_thread.run_sync(_cli, base, env, tmp_path)
        assert done.returncode == 1, done.stderr
        assert "store S9: unplanned 2, failed 2" in done.stdout
        assert "store 'S9' could not be listed, so nothing was planned for it" in done.stderr
        assert "store (the client): add 2, done 2" in done.stdout
        assert "store S2: add 2, done 2" in done.stdout
        assert "store S3: add 2, done 2" in done.stdout
        again = await anyio.to_thread.run_sync(_cli, [*base, "--json"], env, tmp_path)
        assert again.returncode == 1, again.stderr
        report = json.loads(again.stdout)
        assert report["writes"] == {}
        assert {s: t["unchanged"] for s, t in report["by_store"].items()} == {
            "": 2,
            "S2": 2,
            "S3": 2,
            "S9": 0,
        }
        assert report["by_store"]["S9"]["outcomes"] == {"failed": 2}
        for shop in stores:
            async with server.client(sunmi_shop_no=shop) as client:
                faces = [f async for f in client.groups.iter_faces(ids[shop])]
            assert sorted(f.customer_value(1) for f in faces) == ["k0", "k1"]


def test_a_replaced_face_still_to_delete_stays_with_its_store_when_its_key_acts_again(
    tmp_path: Path,
) -> None:
    """The duty to delete a replace's old face moves to its own row when the key acts
    again: in its store's share of the journal, never the client's own store's."""
    journal = SyncJournal(tmp_path / "j.sqlite")
    journal.open({"store": OWN}, None, record_run=True)
    two = StoreJournal(journal, "S2/", ["", "S2/"])
    own = StoreJournal(journal, "", ["", "S2/"])
    try:

        async def record() -> None:
            await two.begin("k0", "replace", "old-1", "g2", "a" * 64)
            await two.uploaded("k0", PictureRecord("new-1", "g2", "a" * 64), finished=False)
            await two.begin("k0", "update", "new-1", "g2", None)

        anyio.run(record)
        assert sorted((r.key, r.action, r.face_id) for r in two.in_flight()) == [
            ("delete:old-1", "delete_old", "old-1"),
            ("k0", "update", "new-1"),
        ]
        assert own.in_flight() == []
    finally:
        journal.close()


class _Died(BaseException):
    """Stands for the process being killed."""


class _Dying:
    """A client (and its ``with_shop`` clients) whose process "dies" right after the
    ``after``-th add landed on the server, before sync hears of it."""

    def __init__(self, client: Any, landed: list[int], after: int) -> None:
        self._client, self._landed, self._after = client, landed, after

    def with_shop(self, **kwargs: Any) -> _Dying:
        return _Dying(self._client.with_shop(**kwargs), self._landed, self._after)

    @property
    def faces(self) -> Any:
        real, landed, after = self._client.faces, self._landed, self._after

        class Faces:
            def __getattr__(self, name: str) -> Any:
                return getattr(real, name)

            async def add(self, *args: Any, **kwargs: Any) -> Any:
                face_id = await real.add(*args, **kwargs)
                landed.append(1)
                if len(landed) >= after:
                    raise _Died
                return face_id

        return Faces()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _contains(exc: BaseException, kind: type[BaseException]) -> bool:
    inner = getattr(exc, "exceptions", ())
    return isinstance(exc, kind) or any(_contains(e, kind) for e in inner)


async def test_a_chain_sync_killed_midway_converges_with_no_duplicate_key(
    tmp_path: Path,
) -> None:
    cloud = FakeSunmiCloud(seed=27, shop_no=OWN, shops=STORES)
    ids = await groups(cloud)
    journal = tmp_path / "sync.sqlite"
    manifest = rows(tmp_path, STORES, 3)
    landed: list[int] = []
    async with cloud.client() as client:
        died: BaseException | None = None
        try:
            await sync(
                _Dying(client, landed, 5), manifest, external_key_slot=SLOT, journal=journal,
                settle=0, concurrency=2,
            )  # fmt: skip
        except BaseException as exc:
            died = exc
        assert died is not None
        assert _contains(died, _Died)
        on_server = sum(len(cloud.faces_in(ids[s], s)) for s in STORES)
        assert on_server == len(landed) >= 5  # the stores ran side by side
        cloud.reset_stats()
        report = await sync(client, manifest, external_key_slot=SLOT, journal=journal, settle=0)
    assert report.ok, report.as_dict()
    assert cloud.stats.requests_by_endpoint["/face/add"] == 9 - len(landed)  # landed: adopted
    for shop in STORES:
        assert keys_in(cloud, ids[shop], shop) == Counter({"k0": 1, "k1": 1, "k2": 1})


async def test_an_invalid_row_naming_a_key_does_not_hide_its_face_from_a_valid_row(
    tmp_path: Path,
) -> None:
    """A row refused for its key's spelling or its group, read before the valid row of the
    same key, held that key's face out of the plan: the valid row was planned as an add, a
    second face with the key."""
    cloud = FakeSunmiCloud(seed=28, shop_no=OWN, shops=STORES)
    ids = await groups(cloud, ("S1",))
    good = rows(tmp_path, ("S1",), 1)[0]
    async with cloud.client() as client:
        await sync(client, [good], external_key_slot=SLOT)
        cloud.reset_stats()
        spelled = FaceUpload(group_id="", group="VIP", pic=good.pic, external_key="k0 ", line=1)
        elsewhere = FaceUpload(group_id="", group="nope", pic=good.pic, external_key="k0", line=2)
        again = attrs.evolve(good, line=3)
        report = await sync(client, [spelled, elsewhere, again], external_key_slot=SLOT, prune=True)
    assert writes(cloud) == {}
    assert report.counts["add"] == 0
    assert report.counts["unchanged"] == 1
    assert report.invalid == 2
    assert keys_in(cloud, ids["S1"], "S1") == Counter({"k0": 1})
