"""sunmi-face enroll over a chain manifest: rows name their store and group, summary per store."""

from __future__ import annotations

import csv
import json
import struct
from pathlib import Path

from sunmi_face_async.testing import FakeSunmiCloud

from .conftest import Invoke

STORES = ("S1", "S2", "S3")


def _chain(tmp_path: Path, cloud: FakeSunmiCloud, invoke: Invoke) -> Path:
    for shop in STORES:
        made = invoke(["--shop-no", shop, "groups", "create", "VIP", "--key", "ext"])
        assert made.exit_code == 0, made.output
    path = tmp_path / "chain.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["sunmi_shop_no", "group", "picture", "external_key"])
        for i in range(3):
            (tmp_path / f"p{i}.jpg").write_bytes(b"\xff\xd8\xff\xe0" + struct.pack(">I", i) * 9)
            for shop in STORES:
                writer.writerow([shop, "VIP", f"p{i}.jpg", f"k{i}"])
    return path


def test_enroll_a_chain_manifest_with_a_per_store_limit(
    tmp_path: Path, cloud: FakeSunmiCloud, invoke: Invoke
) -> None:
    path = _chain(tmp_path, cloud, invoke)
    journal = tmp_path / "chain.journal"
    args = ["enroll", str(path), "--external-key-slot", "1", "--per-store-concurrency", "2"]
    done = invoke([*args, "--journal", str(journal), "--json"])
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    assert data["by_store"] == {shop: {"done": 3} for shop in STORES}
    for shop in STORES:
        group = next(g for g in cloud.groups_of(shop) if g.name == "VIP")
        assert sorted(f.customer_value(1) for f in cloud.faces_in(group.group_id, shop)) == [
            "k0",
            "k1",
            "k2",
        ]
    again = invoke(["enroll", str(path), "--journal", str(journal), "--resume"])
    assert again.exit_code == 0, again.output
    assert "store S2" in again.stdout
    assert "3 skipped" in again.stdout


def test_the_resume_command_keeps_the_per_store_limit(
    tmp_path: Path, cloud: FakeSunmiCloud, invoke: Invoke
) -> None:
    from sunmi_face_async.cli._config import ConfigFlags
    from sunmi_face_async.cli._resume import open_recorded, resume_command

    path = _chain(tmp_path, cloud, invoke)
    journal = tmp_path / "j.sqlite"
    ran = invoke(["enroll", str(path), "--journal", str(journal), "--per-store-concurrency", "3"])
    assert ran.exit_code == 0, ran.output
    recorded = open_recorded(journal)
    assert recorded is not None
    assert recorded.per_store_concurrency == 3
    assert "--per-store-concurrency 3" in resume_command(recorded, journal, ConfigFlags())
