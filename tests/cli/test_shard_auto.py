"""--shard auto: the index and count batch engines give their workers, and clear refusals."""

from __future__ import annotations

import csv
import json
import shlex
import struct
from pathlib import Path

import click
import pytest

from sunmi_face_async.cli._config import ConfigFlags
from sunmi_face_async.cli._enroll import parse_shard as old_home
from sunmi_face_async.cli._resume import open_recorded, resume_command
from sunmi_face_async.cli._shard import parse_shard, resolve_shard
from sunmi_face_async.testing import FakeSunmiCloud

from .conftest import Invoke


@pytest.mark.parametrize(
    ("env", "shards", "expected"),
    [
        ({"JOB_COMPLETION_INDEX": "2"}, 4, (2, 4)),
        ({"JOB_COMPLETION_INDEX": "0", "SUNMI_SHARDS": "3"}, None, (0, 3)),
        ({"JOB_COMPLETION_INDEX": "1", "SUNMI_SHARDS": "9"}, 2, (1, 2)),  # the flag wins
        ({"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "4"}, None, (3, 4)),
        (
            {
                "SLURM_ARRAY_TASK_ID": "5",
                "SLURM_ARRAY_TASK_COUNT": "4",
                "SLURM_ARRAY_TASK_MIN": "2",
            },
            None,
            (3, 4),
        ),
        ({"AWS_BATCH_JOB_ARRAY_INDEX": "7", "AWS_BATCH_JOB_ARRAY_SIZE": "10"}, None, (7, 10)),
        ({"AWS_BATCH_JOB_ARRAY_INDEX": "1"}, 2, (1, 2)),
        ({"AWS_BATCH_JOB_ARRAY_INDEX": "1", "AWS_BATCH_JOB_ARRAY_SIZE": "2"}, 2, (1, 2)),
    ],
)
def test_auto_reads_each_engine(env: dict[str, str], shards: int | None, expected: object) -> None:
    assert resolve_shard("auto", shards=shards, env=env) == expected


@pytest.mark.parametrize(
    ("env", "shards", "message"),
    [
        ({}, None, "no batch engine's index is set (looked for JOB_COMPLETION_INDEX, "),
        ({"JOB_COMPLETION_INDEX": "1"}, None, "give --shards N or set SUNMI_SHARDS"),
        ({"JOB_COMPLETION_INDEX": "x1"}, 2, "JOB_COMPLETION_INDEX='x1' is not a whole number"),
        ({"JOB_COMPLETION_INDEX": "4"}, 4, "JOB_COMPLETION_INDEX=4 is out of range for 4"),
        ({"JOB_COMPLETION_INDEX": "0", "SUNMI_SHARDS": "0"}, None, "SUNMI_SHARDS='0' is not"),
        (
            {"JOB_COMPLETION_INDEX": "0", "SLURM_ARRAY_TASK_ID": "0"},
            2,
            "JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) and SLURM_ARRAY_TASK_ID",
        ),
        ({"SLURM_ARRAY_TASK_ID": "1"}, None, "SLURM_ARRAY_TASK_COUNT is not set"),
        (
            {"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "4"},
            8,
            "--shards is 8 but SLURM_ARRAY_TASK_COUNT is 4",
        ),
        (
            {
                "SLURM_ARRAY_TASK_ID": "4",
                "SLURM_ARRAY_TASK_COUNT": "2",
                "SLURM_ARRAY_TASK_STEP": "4",
            },
            None,
            "SLURM_ARRAY_TASK_STEP=4",
        ),
        (
            {"AWS_BATCH_JOB_ARRAY_INDEX": "3", "AWS_BATCH_JOB_ARRAY_SIZE": "3"},
            None,
            "AWS_BATCH_JOB_ARRAY_INDEX=3 is out of range for 3 shards (AWS_BATCH_JOB_ARRAY_SIZE)",
        ),
    ],
)
def test_bad_values_are_one_error_naming_the_variable(
    env: dict[str, str], shards: int | None, message: str
) -> None:
    with pytest.raises(click.BadParameter) as caught:
        resolve_shard("auto", shards=shards, env=env)
    assert message in caught.value.format_message()


def test_k_of_n_still_parses_and_shards_needs_auto() -> None:
    assert resolve_shard("1/3", env={}) == parse_shard("1/3") == old_home("1/3") == (1, 3)
    assert resolve_shard(None, env={"JOB_COMPLETION_INDEX": "1"}) is None
    with pytest.raises(click.BadParameter, match="--shards only goes with --shard auto"):
        resolve_shard("1/3", shards=3, env={})


def _manifest(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "faces.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["picture", "external_key"])
        for i in range(n):
            (tmp_path / f"p{i}.jpg").write_bytes(b"\xff\xd8\xff\xe0" + struct.pack(">I", i) * 9)
            writer.writerow([f"p{i}.jpg", f"k{i}"])
    return path


def test_workers_with_auto_cover_the_manifest_once_and_resume_as_printed(
    tmp_path: Path, cloud: FakeSunmiCloud, invoke: Invoke
) -> None:
    made = invoke(["groups", "create", "VIP", "--key", "ext"])
    assert made.exit_code == 0, made.output
    path = _manifest(tmp_path, 24)
    done = 0
    for index in range(3):
        journal = tmp_path / f"j{index}.sqlite"
        ran = invoke(
            ["enroll", str(path), "--group", "VIP", "--external-key-slot", "1", "--shard",
             "auto", "--journal", str(journal), "--json"],
            env={"JOB_COMPLETION_INDEX": str(index), "SUNMI_SHARDS": "3"},
        )  # fmt: skip
        assert ran.exit_code == 0, ran.output
        done += json.loads(ran.stdout)["counts"]["done"]
        recorded = open_recorded(journal)
        assert recorded is not None
        assert recorded.shard == f"{index}/3"
    group = next(g for g in cloud.groups_of() if g.name == "VIP")
    keys = sorted(f.customer_value(1) for f in cloud.faces_in(group.group_id))
    assert keys == sorted(f"k{i}" for i in range(24))
    assert done == 24

    printed = resume_command(recorded, tmp_path / "j2.sqlite", ConfigFlags())
    assert "--shard 2/3" in printed
    args = shlex.split(printed)
    assert args[0] == "sunmi-face"
    again = invoke([*args[1:], "--json"])  # no engine variable set: runs as printed
    assert again.exit_code == 0, again.output
    counts = json.loads(again.stdout)["counts"]
    assert counts["done"] == 0
    assert counts["skipped"] > 0


def test_enroll_refuses_auto_outside_an_engine(tmp_path: Path, invoke: Invoke) -> None:
    path = _manifest(tmp_path, 1)
    ran = invoke(["enroll", str(path), "--group", "VIP", "--shard", "auto"])
    assert ran.exit_code == 2
    assert "no batch engine's index is set" in ran.output
