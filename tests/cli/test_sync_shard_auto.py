"""``sunmi-face sync --shard auto``: each worker takes its engine's shard, the journal records
the resolved K/N, and the printed commands run as printed outside the engine."""

from __future__ import annotations

import json
import shlex
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from sunmi_face_async.bulk._journal_file import read_job
from sunmi_face_async.testing import FakeSunmiCloud
from sunmi_face_async.testing.pictures import tiny_png

from .conftest import Invoke


def _manifest(tmp_path: Path, n: int) -> Path:
    (tmp_path / "pics").mkdir()
    rows = []
    for i in range(n):
        (tmp_path / "pics" / f"{i}.png").write_bytes(tiny_png(i))
        rows.append({"picture": f"pics/{i}.png", "name": f"p{i}", "external_key": f"k{i}"})
    path = tmp_path / "staff.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _recorded_shard(path: Path) -> object:
    with closing(sqlite3.connect(path)) as conn:
        job = read_job(conn)
    assert job is not None
    return job[0]["shard"]


def test_sync_workers_with_auto_cover_the_manifest_once(
    tmp_path: Path, cloud: FakeSunmiCloud, invoke: Invoke
) -> None:
    made = invoke(["groups", "create", "staff", "--capacity", "100"])
    assert made.exit_code == 0, made.output
    path = _manifest(tmp_path, 18)
    added = 0
    for index in range(3):
        journal = tmp_path / f"j{index}.sqlite"
        ran = invoke(
            ["sync", str(path), "--group", "staff", "--external-key-slot", "1", "--shard",
             "auto", "--journal", str(journal), "--json"],
            env={"JOB_COMPLETION_INDEX": str(index), "SUNMI_SHARDS": "3"},
        )  # fmt: skip
        assert ran.exit_code == 0, ran.output
        added += json.loads(ran.stdout)["add"]
        assert _recorded_shard(journal) == f"{index}/3"
    group = next(g for g in cloud.groups_of() if g.name == "staff")
    keys = sorted(f.customer_value(1) for f in cloud.faces_in(group.group_id))
    assert keys == sorted(f"k{i}" for i in range(18))
    assert added == 18
    # worker 0's journal under another index is another job: refused, naming the shard
    other = invoke(
        ["sync", str(path), "--group", "staff", "--external-key-slot", "1", "--shard", "auto",
         "--journal", str(tmp_path / "j0.sqlite"), "--resume"],
        env={"JOB_COMPLETION_INDEX": "1", "SUNMI_SHARDS": "3"},
    )  # fmt: skip
    assert other.exit_code != 0
    assert "shard" in other.output
    assert "0/3" in other.output
    assert "1/3" in other.output


def test_sync_plan_prints_the_resolved_shard_and_runs_as_printed(
    tmp_path: Path, cloud: FakeSunmiCloud, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the default journal is relative: not in the repository
    assert invoke(["groups", "create", "staff"]).exit_code == 0
    path = _manifest(tmp_path, 6)
    planned = invoke(
        ["sync", str(path), "--group", "staff", "--external-key-slot", "1", "--shard", "auto",
         "--shards", "2", "--plan"],
        env={"AWS_BATCH_JOB_ARRAY_INDEX": "1"},
    )  # fmt: skip
    assert planned.exit_code == 0, planned.output
    lead = "to apply this plan run: "
    line = next(x for x in planned.stderr.splitlines() if x.startswith(lead))
    argv = shlex.split(line[len(lead) :])
    assert argv[argv.index("--shard") + 1] == "1/2"
    assert "--shards" not in argv
    applied = invoke([*argv[1:], "--json"])  # no engine variable: runs as printed
    assert applied.exit_code == 0, applied.output
    planned_adds = int(planned.stdout.split("add ")[1].split(",")[0])
    assert json.loads(applied.stdout)["add"] == planned_adds > 0


def test_sync_refuses_auto_outside_an_engine_and_contradictions(
    tmp_path: Path, invoke: Invoke
) -> None:
    path = _manifest(tmp_path, 1)
    base = ["sync", str(path), "--external-key-slot", "1", "--plan"]
    ran = invoke([*base, "--shard", "auto"])
    assert ran.exit_code == 2
    assert "no batch engine's index is set" in ran.output
    ran = invoke(
        [*base, "--shard", "auto", "--shards", "8"],
        env={"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "4"},
    )
    assert ran.exit_code == 2
    assert "--shards is 8 but SLURM_ARRAY_TASK_COUNT is 4" in ran.output
    ran = invoke([*base, "--shard", "1/3", "--shards", "3"])
    assert ran.exit_code == 2
    assert "--shards only goes with --shard auto" in ran.output
