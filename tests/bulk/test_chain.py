"""One enrollment over many stores: rows name their store and group, each store a fair lane."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import anyio
import httpx
import pytest

from sunmi_face_async import AsyncSunmiFace
from sunmi_face_async.bulk import FaceUpload, ManifestError, Outcome, enroll, read_csv
from sunmi_face_async.testing import IN_PROCESS_BASE_URL, FakeSunmiCloud

from .conftest import picture

STORES = ("S1", "S2", "S3")


async def _groups(cloud: FakeSunmiCloud, name: str = "VIP") -> dict[str, str]:
    ids = {}
    for shop in STORES:
        async with cloud.client(sunmi_shop_no=shop) as client:
            ids[shop] = (await client.groups.create(name, customer_keys=["ext"])).group_id
    return ids


def _manifest(tmp_path: Path, rows: list[dict[str, str]]) -> Path:
    for row in rows:
        pic = tmp_path / row["picture"]
        if not pic.exists():
            pic.write_bytes(picture(int(row["picture"].split(".")[0][1:])))
    path = tmp_path / "chain.csv"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, ["sunmi_shop_no", "group", "picture", "external_key"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def _rows(per_store: int, stores: tuple[str, ...] = STORES) -> list[dict[str, str]]:
    # interleaved, as an export of many stores merged by key would be
    return [
        {"sunmi_shop_no": shop, "group": "VIP", "picture": f"p{i}.jpg", "external_key": f"k{i}"}
        for i in range(per_store)
        for shop in stores
    ]


async def test_rows_go_to_their_store_group_names_looked_up_once_per_store(
    tmp_path: Path,
) -> None:
    cloud = FakeSunmiCloud(seed=5)
    ids = await _groups(cloud)
    path = _manifest(tmp_path, _rows(4))
    cloud.reset_stats()
    async with cloud.client(sunmi_shop_no="S1") as client:
        report = await enroll(client, read_csv(path), external_key_slot=1).run()
    assert report.counts[Outcome.DONE] == 12
    assert cloud.stats.requests_by_endpoint["/face/group/getList"] == 3
    for shop in STORES:
        keys = sorted(f.customer_value(1) for f in cloud.faces_in(ids[shop], shop))
        assert keys == ["k0", "k1", "k2", "k3"]
    assert report.by_store == {shop: {"done": 4} for shop in STORES}
    assert report.as_dict()["by_store"] == {shop: {"done": 4} for shop in STORES}


async def test_an_unknown_group_name_is_one_error_naming_file_line_column_and_store(
    tmp_path: Path,
) -> None:
    cloud = FakeSunmiCloud(seed=6)
    await _groups(cloud)
    rows = _rows(1)
    rows[1]["group"] = "VIPs"  # line 3, store S2
    path = _manifest(tmp_path, rows)
    async with cloud.client(sunmi_shop_no="S1") as client:
        results = [r async for r in enroll(client, read_csv(path))]
    bad = [r for r in results if r.outcome is Outcome.INVALID]
    assert len(bad) == 1
    error = bad[0].item
    assert isinstance(error, ManifestError)
    assert str(error) == (
        f"{path}:3: column 'group': store 'S2' has no group named 'VIPs' "
        "(its groups: 'VIP', 'employee', 'regular', 'stranger')"
    )
    assert Counter(r.outcome for r in results) == {Outcome.DONE: 2, Outcome.INVALID: 1}


async def test_a_store_that_fails_is_listed_once_and_its_rows_say_why(tmp_path: Path) -> None:
    cloud = FakeSunmiCloud(seed=10, shops=["S1", "S2", "S3"])
    await _groups(cloud)
    path = _manifest(tmp_path, _rows(3, ("S1", "GONE", "S2")))
    cloud.reset_stats()
    async with cloud.client(sunmi_shop_no="S1") as client:
        job = enroll(client, read_csv(path), per_store_concurrency=2)
        report = await job.run()
    assert report.by_store == {"S1": {"done": 3}, "S2": {"done": 3}, "GONE": {"invalid": 3}}
    assert cloud.stats.requests_by_endpoint["/face/group/getList"] == 3  # S1, S2, GONE once
    reasons = {item["reason"] for item in report.listed}
    assert len(reasons) == 1
    assert reasons.pop().startswith(
        "column 'group': the groups of store 'GONE' could not be listed: ShopNotFoundError"
    )


async def test_the_same_key_and_picture_in_two_stores_are_two_items_and_resume_skips_both(
    tmp_path: Path,
) -> None:
    cloud = FakeSunmiCloud(seed=7)
    ids = await _groups(cloud)
    path = _manifest(tmp_path, _rows(3, ("S1", "S2")))
    journal = tmp_path / "job.journal"
    async with cloud.client(sunmi_shop_no="S1") as client:
        first = await enroll(client, read_csv(path), external_key_slot=1, journal=journal).run()
        again = await enroll(client, read_csv(path), external_key_slot=1, journal=journal).run()
    assert first.counts[Outcome.DONE] == 6
    assert first.counts[Outcome.DUPLICATE] == 0
    assert again.counts[Outcome.SKIPPED] == 6
    assert again.sent == 0
    assert len(cloud.faces_in(ids["S1"], "S1")) == len(cloud.faces_in(ids["S2"], "S2")) == 3


async def test_a_shard_takes_the_same_items_whichever_the_picture(tmp_path: Path) -> None:
    cloud = FakeSunmiCloud(seed=8)
    await _groups(cloud)
    path = _manifest(tmp_path, _rows(10))
    async with cloud.client(sunmi_shop_no="S1") as client:
        parts = [
            await enroll(client, read_csv(path), external_key_slot=1, shard=(k, 3)).run()
            for k in range(3)
        ]
    assert sum(p.counts[Outcome.DONE] for p in parts) == 30  # every item in exactly one shard


class _SlowStore(httpx.AsyncBaseTransport):
    """The fake, with every request naming store ``shop`` answered ``delay`` s late."""

    def __init__(self, inner: httpx.AsyncBaseTransport, shop: bytes, delay: float) -> None:
        self.inner, self.shop, self.delay = inner, shop, delay

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.shop in await request.aread():
            await anyio.sleep(self.delay)
        return await self.inner.handle_async_request(request)


async def _finish_order(cloud: FakeSunmiCloud, path: Path, **options: object) -> list[str]:
    transport = _SlowStore(cloud.transport(), b"SLOWSHOP", 0.25)
    async with AsyncSunmiFace(
        cloud.app_id,
        cloud.app_key,
        sunmi_shop_no="S1",
        base_url=IN_PROCESS_BASE_URL,
        transport=transport,
    ) as client:
        job = enroll(client, read_csv(path), concurrency=6, adaptive=False, **options)  # type: ignore[arg-type]
        return [r.item.sunmi_shop_no async for r in job if isinstance(r.item, FaceUpload)]


@pytest.mark.parametrize("per_store", [2])
async def test_a_slow_store_does_not_starve_the_others(tmp_path: Path, per_store: int) -> None:
    cloud = FakeSunmiCloud(seed=9)
    for shop in ("S1", "S2", "SLOWSHOP"):
        async with cloud.client(sunmi_shop_no=shop) as client:
            await client.groups.create("VIP")
    path = _manifest(tmp_path, _rows(12, ("SLOWSHOP", "S1", "S2")))
    order = await _finish_order(cloud, path, per_store_concurrency=per_store)
    assert Counter(order) == {"S1": 12, "S2": 12, "SLOWSHOP": 12}
    last_fast = max(i for i, shop in enumerate(order) if shop != "SLOWSHOP")
    slow_before = order[:last_fast].count("SLOWSHOP")
    # The fast stores are through while the slow one has done only a few (it holds at most
    # two workers); without the per-store limit it takes all six and the others wait.
    assert slow_before <= 4, order


async def test_a_dry_run_checks_rows_named_by_group_without_sending(tmp_path: Path) -> None:
    cloud = FakeSunmiCloud(seed=12)
    await _groups(cloud)
    path = _manifest(tmp_path, _rows(2))
    cloud.reset_stats()
    async with cloud.client(sunmi_shop_no="S1") as client:
        report = await enroll(client, read_csv(path), dry_run=True).run()
    assert report.counts[Outcome.CHECKED] == 6
    assert report.by_store == {shop: {"checked": 2} for shop in STORES}
    assert sum(cloud.stats.requests_by_endpoint.values()) == 0


async def test_unknown_outcomes_in_a_chain_are_reconciled_by_key_in_their_store(
    tmp_path: Path,
) -> None:
    cloud = FakeSunmiCloud(seed=13)
    ids = await _groups(cloud)
    path = _manifest(tmp_path, _rows(8))
    cloud.faults.endpoints = {"/face/add"}
    cloud.faults.commit_then_timeout_rate = 0.3  # applied, then the answer is lost
    async with cloud.client(sunmi_shop_no="S1", timeout=2) as client:
        report = await enroll(
            client, read_csv(path), external_key_slot=1, settle=0, retry_delay=0
        ).run()
    assert report.counts[Outcome.DONE] == 24, report.as_dict()
    for shop in STORES:
        keys = sorted(f.customer_value(1) for f in cloud.faces_in(ids[shop], shop))
        assert keys == sorted(f"k{i}" for i in range(8))  # each key once: none sent twice


async def test_a_row_naming_the_clients_own_store_is_the_same_item_as_one_naming_none(
    tmp_path: Path,
) -> None:
    # A manifest may name the configured store or leave the column empty: the same key in
    # the same store is one item (a duplicate), never a second face with that key.
    cloud = FakeSunmiCloud(seed=13)
    ids = await _groups(cloud)
    journal = tmp_path / "job.journal"
    rows = [
        FaceUpload(group_id=ids["S1"], pic=picture(1), external_key="k0", line=2),
        FaceUpload(group_id="", group="VIP", sunmi_shop_no="S1", pic=picture(2),
                   external_key="k0", line=3),
        FaceUpload(group_id="", group="VIP", sunmi_shop_no="S1", pic=picture(3),
                   external_key="k1", line=4),
    ]  # fmt: skip
    async with cloud.client(sunmi_shop_no="S1") as client:
        first = await enroll(client, rows, external_key_slot=1, journal=journal).run()
        # the same faces, the store now left out: done already
        plain = [FaceUpload(group_id=ids["S1"], pic=picture(9), external_key="k1", line=2)]
        again = await enroll(client, plain, external_key_slot=1, journal=journal).run()
    assert (first.counts[Outcome.DONE], first.counts[Outcome.DUPLICATE]) == (2, 1)
    assert again.counts[Outcome.SKIPPED] == 1
    assert again.sent == 0
    keys = sorted(f.customer_value(1) for f in cloud.faces_in(ids["S1"], "S1"))
    assert keys == ["k0", "k1"]


async def test_a_full_group_in_one_store_fails_only_that_stores_rows_and_names_the_store(
    tmp_path: Path,
) -> None:
    cloud = FakeSunmiCloud(seed=14)
    for shop in STORES:
        async with cloud.client(sunmi_shop_no=shop) as client:
            await client.groups.create("VIP", capacity=1 if shop == "S2" else 10)
    path = _manifest(tmp_path, _rows(3))
    async with cloud.client(sunmi_shop_no="S1") as client:
        report = await enroll(client, read_csv(path), concurrency=4).run()
    assert report.by_store == {"S1": {"done": 3}, "S2": {"done": 1, "failed": 2}, "S3": {"done": 3}}
    failed = report.named(Outcome.FAILED)
    assert len(failed) == 2
    for item in failed:
        assert item["sunmi_shop_no"] == "S2"
        assert "code 5520" in item["reason"]
        assert item["label"].startswith(f"line {item['line']} (store S2, ")


async def test_a_slow_store_first_in_a_manifest_sorted_by_store_does_not_starve_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An export writes store after store. The slow store's rows fill their buffer (made
    # small here, as a long manifest would); the rows behind them must still be read.
    from sunmi_face_async.bulk import _stores

    monkeypatch.setattr(_stores, "_BUFFER_PER_STORE", 3)
    cloud = FakeSunmiCloud(seed=15)
    for shop in ("S1", "S2", "SLOWSHOP"):
        async with cloud.client(sunmi_shop_no=shop) as client:
            await client.groups.create("VIP")
    rows = [r for shop in ("SLOWSHOP", "S1", "S2") for r in _rows(12, (shop,))]
    for i, row in enumerate(rows):
        row["picture"] = f"p{i}.jpg"
    path = _manifest(tmp_path, rows)
    order = await _finish_order(cloud, path, per_store_concurrency=2)
    assert Counter(order) == {"S1": 12, "S2": 12, "SLOWSHOP": 12}
    last_fast = max(i for i, shop in enumerate(order) if shop != "SLOWSHOP")
    assert order[:last_fast].count("SLOWSHOP") <= 4, order
