"""docs/migrating.md runs as written: its commands, in order, migrate three fake stores, and
its Kubernetes Indexed Job's workers do the same with --shard auto."""

from __future__ import annotations

import re
import shlex
import struct
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml

from sunmi_face_async.testing import FakeSunmiCloud

from .conftest import Invoke

PAGE = Path(__file__).parents[2] / "docs" / "migrating.md"
OLD, NEW = ("A100", "A200", "A300"), ("B100", "B200", "B300")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}[^\n]*\n(.*?)```", PAGE.read_text(), flags=re.S)


def _commands() -> list[list[str]]:
    lines = [line for block in _blocks("sh") for line in block.splitlines() if line.strip()]
    assert all(line.startswith("sunmi-face ") for line in lines), lines
    return [shlex.split(line)[1:] for line in lines]


async def _seed(cloud: FakeSunmiCloud, tmp_path: Path) -> None:
    (tmp_path / "pics").mkdir()
    (tmp_path / "old-stores.txt").write_text(
        re.search(r'```text title="old-stores.txt"\n(.*?)```', PAGE.read_text(), re.S)[1]  # type: ignore[index]
    )
    n = 0
    for shop in OLD:
        async with cloud.client(sunmi_shop_no=shop) as client:
            vip = await client.groups.create("VIP", capacity=500, customer_keys=["ext"])
            groups = {g.name: g.group_id for g in await client.groups.list()}
            for i in range(5):
                n += 1
                key = f"{shop}-{i}"
                pic = b"\xff\xd8\xff\xe0" + struct.pack(">I", n) * 9
                (tmp_path / "pics" / f"{key}.jpg").write_bytes(pic)
                target = vip.group_id if i % 2 else groups["regular"]
                await client.faces.add(target, pic=pic, name=f"N{n}", customer_values=[key])


def _contents(cloud: FakeSunmiCloud, shop: str) -> dict[str, Any]:
    return {
        g.name: sorted(
            (f.customer_value(1), f.name, f.gender, f.age_range, f.customer_values)
            for f in cloud.faces_in(g.group_id, shop)
        )
        for g in cloud.groups_of(shop)
    }


def _migrated(cloud: FakeSunmiCloud) -> None:
    for old, new in zip(OLD, NEW, strict=True):
        assert _contents(cloud, new) == _contents(cloud, old)
        assert sum(len(faces) for faces in _contents(cloud, new).values()) == 5


def _run(invoke: Invoke, args: list[str], env: dict[str, str] | None = None) -> str:
    ran = invoke(args, env=env)
    assert ran.exit_code == 0, f"{shlex.join(args)}\n{ran.output}"
    return ran.stdout


def test_the_pages_commands_migrate_three_stores(
    tmp_path: Path, cloud: FakeSunmiCloud, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    anyio.run(_seed, cloud, tmp_path)
    monkeypatch.chdir(tmp_path)
    commands = _commands()
    assert any("copy-structure" in c for c in commands)
    assert any("--picture-template" in c for c in commands)
    for args in commands:
        _run(invoke, args)
    _migrated(cloud)
    strategy = cloud.move_strategy("B100")
    assert strategy is not None
    assert (strategy.threshold, strategy.period) == (4, 7 * 86400)
    assert (tmp_path / "b100.jsonl").read_text().count("\n") == 5


def test_the_indexed_job_migrates_with_shard_auto_and_resumes_on_restart(
    tmp_path: Path, cloud: FakeSunmiCloud, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    anyio.run(_seed, cloud, tmp_path)
    monkeypatch.chdir(tmp_path)
    for args in _commands():
        if "copy-structure" in args or "--shops" in args:
            _run(invoke, args)  # the structure and the chain's manifest, not the one-job enroll
    (job,) = [yaml.safe_load(block) for block in _blocks("yaml")]
    assert (job["kind"], job["spec"]["completionMode"]) == ("Job", "Indexed")
    container = job["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["SUNMI_SHARDS"] == str(job["spec"]["completions"])
    script = container["args"][0]
    assert 'if [ -e "$J" ]; then RESUME=--resume; else RESUME=; fi;' in script
    command = script[script.index("exec sunmi-face ") + len("exec ") :]

    def worker(index: int) -> str:
        journal = f"journal-{index}.sqlite"
        resume = "--resume" if (tmp_path / journal).exists() else ""
        line = command.replace('"$J"', journal).replace("$RESUME", resume)
        worker_env = {"SUNMI_SHARDS": env["SUNMI_SHARDS"], "JOB_COMPLETION_INDEX": str(index)}
        return _run(invoke, shlex.split(line)[1:], env=worker_env)

    for index in range(job["spec"]["completions"]):
        worker(index)
    _migrated(cloud)
    adds = cloud.stats.requests_by_endpoint["/face/add"]
    assert adds == 30  # 15 seeded in the old stores, 15 sent once by the four workers
    for index in range(job["spec"]["completions"]):  # a restarted pod resumes its journal
        assert "skipped" in worker(index)
    assert cloud.stats.requests_by_endpoint["/face/add"] == adds  # nothing sent again
    _migrated(cloud)
