"""export --format manifest: what enroll reads back, into another store, groups compared."""

from __future__ import annotations

import csv
import json
import struct
from pathlib import Path

import anyio
import pytest

from sunmi_face_async.models import Gender
from sunmi_face_async.testing import FakeSunmiCloud

from .conftest import Invoke

TEMPLATE = "pics/{external_key}.jpg"


def _pic(i: int) -> bytes:
    return b"\xff\xd8\xff\xe0" + struct.pack(">I", i) * 9


async def _seed(cloud: FakeSunmiCloud, shop: str, names: list[str], tmp_path: Path) -> None:
    (tmp_path / "pics").mkdir(exist_ok=True)
    async with cloud.client(sunmi_shop_no=shop) as client:
        vip = await client.groups.create("VIP", capacity=900, customer_keys=["ext", "tier"])
        regular = next(g for g in await client.groups.list() if g.name == "regular")
        for i, name in enumerate(names):
            key = f"{shop}-k{i}"
            (tmp_path / "pics" / f"{key}.jpg").write_bytes(_pic(i))
            group = vip if i % 2 else regular
            await client.faces.add(
                group.group_id,
                pic=_pic(i),
                name=name,
                gender=Gender.FEMALE if i % 3 else None,
                customer_values=[key, f"t{i}"],
            )


def seed(cloud: FakeSunmiCloud, shop: str, names: list[str], tmp_path: Path) -> None:
    anyio.run(_seed, cloud, shop, names, tmp_path)


def _contents(cloud: FakeSunmiCloud, shop: str) -> dict[str, set[tuple[object, ...]]]:
    return {
        group.name: {
            (f.customer_value(1), f.name, f.gender, f.age_range, f.customer_values)
            for f in cloud.faces_in(group.group_id, shop)
        }
        for group in cloud.groups_of(shop)
    }


def _manifest_export(invoke: Invoke, out: Path, *extra: str) -> None:
    ran = invoke(
        [
            "--shop-no",
            "S1",
            "export",
            "--all-groups",
            "--format",
            "manifest",
            "--external-key-slot",
            "1",
            "--picture-template",
            TEMPLATE,
            "--output",
            str(out),
            *extra,
        ]
    )
    assert ran.exit_code == 0, ran.output


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_export_as_manifest_then_enroll_into_a_second_store_gives_the_same_groups(
    tmp_path: Path, cloud: FakeSunmiCloud, invoke: Invoke, suffix: str
) -> None:
    seed(cloud, "S1", ["Ann", "Bo", "=SUM(A1)", "Dee", "Eve"], tmp_path)
    out = tmp_path / f"faces{suffix}"
    _manifest_export(invoke, out, "--map-shop", "S1=S2", "--csv-raw")
    copied = invoke(["--shop-no", "S1", "copy-structure", "--to-shop", "S2"])
    assert copied.exit_code == 0, copied.output
    enrolled = invoke(["enroll", str(out), "--external-key-slot", "1", "--json", "--no-journal"])
    assert enrolled.exit_code == 0, enrolled.output
    assert json.loads(enrolled.stdout)["by_store"] == {"S2": {"done": 5}}
    assert _contents(cloud, "S2") == _contents(cloud, "S1")
    assert sum(len(v) for v in _contents(cloud, "S2").values()) == 5


def test_manifest_rows_carry_the_columns_enroll_reads(
    tmp_path: Path, cloud: FakeSunmiCloud, invoke: Invoke
) -> None:
    seed(cloud, "S1", ["Ann", "=cmd"], tmp_path)
    out = tmp_path / "m.csv"
    _manifest_export(invoke, out)
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [
        "sunmi_shop_no", "group", "picture", "external_key", "name", "gender", "age_range",
        "customer_value1", "customer_value2", "customer_value3", "customer_value4",
        "customer_value5",
    ]  # fmt: skip
    by_key = {row["external_key"]: row for row in rows}
    assert by_key["S1-k0"]["group"] == "regular"
    assert by_key["S1-k0"]["picture"] == "pics/S1-k0.jpg"
    assert by_key["S1-k1"]["group"] == "VIP"
    assert by_key["S1-k1"]["name"] == "'=cmd"  # CSV injection: neutralised as export does
    assert by_key["S1-k1"]["sunmi_shop_no"] == "S1"
    assert by_key["S1-k1"]["gender"] == "2"


def test_an_unknown_template_field_is_one_clear_error_and_no_file(
    tmp_path: Path, invoke: Invoke
) -> None:
    out = tmp_path / "m.csv"
    ran = invoke(
        ["export", "--all-groups", "--format", "manifest", "--picture-template",
         "pics/{key}.jpg", "--output", str(out)]
    )  # fmt: skip
    assert ran.exit_code == 2
    assert "unknown field {key}; the fields are {external_key}, {face_id}, {group}" in ran.output
    assert not out.exists()
    missing = invoke(["export", "--all-groups", "--format", "manifest", "--output", str(out)])
    assert missing.exit_code == 2
    assert "--format manifest needs --picture-template" in missing.output


def test_a_value_that_cannot_be_a_path_leaves_no_file(
    tmp_path: Path, cloud: FakeSunmiCloud, invoke: Invoke
) -> None:
    seed(cloud, "S1", ["Ann", "a/b"], tmp_path)
    out = tmp_path / "m.csv"
    ran = invoke(
        ["--shop-no", "S1", "export", "--all-groups", "--format", "manifest",
         "--picture-template", "pics/{name}.jpg", "--output", str(out)]
    )  # fmt: skip
    assert ran.exit_code == 2
    assert "{name} is 'a/b', which cannot be part of a picture path" in ran.output
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".m.csv")] == []


def test_shops_file_exports_every_store_listed(
    tmp_path: Path, cloud: FakeSunmiCloud, invoke: Invoke
) -> None:
    seed(cloud, "S1", ["Ann", "Bo"], tmp_path)
    seed(cloud, "S2", ["Cy", "Di", "Ed"], tmp_path)
    shops = tmp_path / "shops.txt"
    shops.write_text("# the chain\nS1\n\nS2\n")
    out = tmp_path / "chain.jsonl"
    _manifest_export(invoke, out, "--shops", str(shops), "--json")
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted((r["sunmi_shop_no"], r["external_key"]) for r in rows) == [
        ("S1", "S1-k0"), ("S1", "S1-k1"), ("S2", "S2-k0"), ("S2", "S2-k1"), ("S2", "S2-k2"),
    ]  # fmt: skip
    shops.write_text("S1\nS2\nS1\n")
    again = invoke(
        ["export", "--all-groups", "--format", "manifest", "--picture-template", TEMPLATE,
         "--shops", str(shops), "--output", str(tmp_path / "x.csv")]
    )  # fmt: skip
    assert again.exit_code == 2
    assert f"{shops}:3: 'S1' is listed twice" in again.output
    assert not (tmp_path / "x.csv").exists()


def test_the_manifest_syncs_a_second_store_to_the_same_groups(
    tmp_path: Path, cloud: FakeSunmiCloud, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # sync's default journal goes under the current directory
    seed(cloud, "S1", ["Ann", "Bo", "Cy", "Dee"], tmp_path)
    out = tmp_path / "m.jsonl"
    _manifest_export(invoke, out, "--map-shop", "S1=S3")
    copied = invoke(["--shop-no", "S1", "copy-structure", "--to-shop", "S3"])
    assert copied.exit_code == 0, copied.output
    sync = ["--shop-no", "S3", "sync", str(out), "--external-key-slot", "1"]
    applied = invoke([*sync, "--journal", str(tmp_path / "s.sqlite"), "--json"])
    assert applied.exit_code == 0, applied.output
    assert json.loads(applied.stdout)["writes"] == {"add": 4}
    assert _contents(cloud, "S3") == _contents(cloud, "S1")
    again = invoke([*sync, "--plan", "--json"])
    assert again.exit_code == 0, again.output
    plan = json.loads(again.stdout)
    assert (plan["add"], plan["update"], plan["unchanged"], plan["items"]) == (0, 0, 4, [])


async def _seed_formulas(cloud: FakeSunmiCloud, tmp_path: Path) -> None:
    (tmp_path / "pics").mkdir(exist_ok=True)
    async with cloud.client(sunmi_shop_no="S1") as client:
        vip = await client.groups.create("VIP", customer_keys=["ext", "note"])
        for i, (key, name) in enumerate([("-7", "=Ann"), ("+8", "@Bo"), ("'=9", "'t Cy")]):
            (tmp_path / "pics" / f"{i}.jpg").write_bytes(_pic(i))
            values = [key, "=1+1" if i else ""]
            await client.faces.add(vip.group_id, pic=_pic(i), name=name, customer_values=values)


def test_a_csv_manifest_with_formula_like_values_syncs_back_to_nothing(
    tmp_path: Path, cloud: FakeSunmiCloud, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    anyio.run(_seed_formulas, cloud, tmp_path)
    out = tmp_path / "m.csv"
    ran = invoke(
        ["--shop-no", "S1", "export", "--all-groups", "--format", "manifest",
         "--external-key-slot", "1", "--picture-template", "pics/{face_id}.jpg",
         "--output", str(out)],
    )  # fmt: skip
    assert ran.exit_code == 0, ran.output
    assert "'-7,'=Ann" in out.read_text(encoding="utf-8")  # inert in a spreadsheet
    plan = invoke(["--shop-no", "S1", "sync", str(out), "--external-key-slot", "1", "--plan",
                   "--json"])  # fmt: skip
    assert plan.exit_code == 0, plan.output
    got = json.loads(plan.stdout)
    assert (got["add"], got["update"], got["unchanged"], got["items"]) == (0, 0, 3, [])


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (["S1=S3", "S1=S4"], "'S1' is mapped twice (to 'S3' and to 'S4')"),
        (["S1=S 3"], "'S 3' is not one sunmi_shop_no"),
    ],
)
def test_contradictory_or_bad_map_shop_is_refused_and_leaves_no_file(
    tmp_path: Path, invoke: Invoke, pairs: list[str], message: str
) -> None:
    out = tmp_path / "m.csv"
    flags = [x for pair in pairs for x in ("--map-shop", pair)]
    ran = invoke(
        ["--shop-no", "S1", "export", "--all-groups", "--format", "manifest",
         "--picture-template", "pics/{face_id}.jpg", "--output", str(out), *flags]
    )  # fmt: skip
    assert ran.exit_code == 2, ran.output
    assert message in ran.output
    assert not out.exists()


async def _seed_keyless(cloud: FakeSunmiCloud) -> str:
    async with cloud.client(sunmi_shop_no="S1") as client:
        vip = await client.groups.create("VIP", customer_keys=["ext"])
        await client.faces.add(vip.group_id, pic=_pic(1), name="Ann", customer_values=["k1"])
        return await client.faces.add(vip.group_id, pic=_pic(2), name="Bo")


def test_a_face_without_the_external_key_the_template_needs_is_named_with_a_way_out(
    tmp_path: Path, cloud: FakeSunmiCloud, invoke: Invoke
) -> None:
    keyless = anyio.run(_seed_keyless, cloud)
    out = tmp_path / "m.csv"
    base = ["--shop-no", "S1", "export", "--all-groups", "--format", "manifest",
            "--external-key-slot", "1", "--output", str(out), "--picture-template"]  # fmt: skip
    ran = invoke([*base, "pics/{external_key}.jpg"])
    assert ran.exit_code == 2
    assert f"store S1: face {keyless}: the picture template needs {{external_key}}" in ran.output
    assert "use a field every face has, such as {face_id}" in " ".join(ran.output.split())
    assert not out.exists()
    ran = invoke([*base, "pics/{face_id}.jpg"])
    assert ran.exit_code == 0, ran.output
    with out.open(newline="", encoding="utf-8") as f:
        rows = {row["name"]: row for row in csv.DictReader(f)}
    assert rows["Ann"]["external_key"] == "k1"
    assert rows["Bo"]["external_key"] == ""
    assert rows["Bo"]["picture"] == f"pics/{keyless}.jpg"
