"""``--resume`` reproduces the job (issue 11, case 1): real processes against
``sunmi-face fake-server`` over HTTP, Ctrl-C midway, then the printed command run as printed.

Every process is started here and stopped here, by pid.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from sunmi_face_async.testing.pictures import write_faces

from ._proc import fake_server_process, spawn, stop

SUNMI_FACE = str(Path(sys.executable).with_name("sunmi-face"))
TIMEOUT = 90


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUNMI_")}
    env.update(extra or {})
    return env


@pytest.fixture
def server(tmp_path: Path) -> Iterator[dict[str, str]]:
    """``sunmi-face fake-server --port 0``: the details it printed."""
    with fake_server_process(tmp_path, "--latency", "0.02") as (_, details):
        yield details


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, env=env, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


def _group_faces(
    server: dict[str, str], env: dict[str, str], cwd: Path, group: str
) -> Counter[str]:
    flags = ["--base-url", server["base_url"], "--shop-no", server["shop_no"]]
    exported = _run([SUNMI_FACE, *flags, "export", "--group", group], env, cwd)
    assert exported.returncode == 0, exported.stderr
    return Counter(json.loads(line)["name"] for line in exported.stdout.splitlines())


def _group_id(server: dict[str, str], env: dict[str, str], cwd: Path, name: str) -> str:
    flags = ["--base-url", server["base_url"], "--shop-no", server["shop_no"]]
    listed = _run([SUNMI_FACE, *flags, "--json", "groups", "list"], env, cwd)
    assert listed.returncode == 0, listed.stderr
    [group] = [g for g in json.loads(listed.stdout) if g["name"] == name]
    return str(group["group_id"])


def _shard_of(group_id: str, picture: Path, n: int) -> int:
    """Shard membership computed from its definition (sha256 of group:picture-hash, mod n)."""
    key = f"{group_id}:{hashlib.sha256(picture.read_bytes()).hexdigest()}"
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % n


def test_the_printed_resume_command_runs_as_printed_and_reproduces_the_shard(
    server: dict[str, str], tmp_path: Path
) -> None:
    pictures = write_faces(tmp_path / "photos dir", 120)
    # Only the key and app id in the environment: the store and the URL are given as flags.
    env = _env({"SUNMI_APP_ID": server["app_id"], "SUNMI_APP_KEY": server["app_key"]})
    flags = ["--base-url", server["base_url"], "--shop-no", server["shop_no"]]
    args = [SUNMI_FACE, *flags, "enroll", "photos dir", "--group", "G", "--create-group"]
    args += ["--shard", "0/2", "--rate", "10", "--concurrency", "8"]
    process = spawn(args, env, tmp_path)
    try:
        assert process.stderr is not None
        assert process.stderr.readline().startswith("created group G (")
        assert process.stderr.readline().startswith("enroll: ")  # uploads are under way
        # About 15 uploads at 10/s, of about 60. --rate spaces them exactly 0.1 s apart (no
        # burst) from the first: 1.55 s lands between two uploads, not on one in flight,
        # which (without an external key) would stay unknown after the resume.
        time.sleep(1.55)
        os.kill(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=TIMEOUT)
    finally:
        stop(process)
    assert process.returncode == 130, err
    lines = err.splitlines()
    printed = lines[lines.index("items in flight are recorded in the journal; resume with:") + 1]
    command = shlex.split(printed)
    print(f"\nprinted: {printed.strip()}")
    assert command[0] == "sunmi-face"

    group_id = _group_id(server, env, tmp_path, "G")
    in_shard = sorted(p.stem for p in pictures if _shard_of(group_id, p, 2) == 0)
    assert 0 < sum(_group_faces(server, env, tmp_path, "G").values()) < len(in_shard)

    resumed = _run([SUNMI_FACE, *command[1:]], env, tmp_path)
    # Without an external key, an upload cut off by Ctrl-C stays unknown (never sent twice):
    # the resume names it by file and exits 1. Which upload that is depends on timing.
    unknown = {Path(m).stem for m in re.findall(r"^unknown: (.+?\.png)", resumed.stderr, re.M)}
    assert resumed.returncode == (1 if unknown else 0), resumed.stderr
    assert len(unknown) <= 2, resumed.stderr  # at 10 uploads/s, at most one or two in flight
    faces = _group_faces(server, env, tmp_path, "G")
    assert set(faces) <= set(in_shard)  # only the shard's faces (before: both shards)
    assert set(in_shard) - set(faces) <= unknown  # nothing missing that was not named
    assert set(faces.values()) == {1}  # once each
    assert f"{len(in_shard)}/{len(in_shard)}" in resumed.stderr  # the shard's total
    assert server["app_key"] not in err + resumed.stderr + resumed.stdout + printed

    # Another shard, group or store with this journal is refused, naming the difference.
    at = command.index("--shard")
    other_shard = [*command[1:at], "--shard", "1/2", *command[at + 2 :]]
    refused = _run([SUNMI_FACE, *other_shard], env, tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert "--shard 1/2 contradicts the journal's 0/2" in refused.stderr
    at = command.index("--shop-no")
    other_store = [*command[1:at], "--shop-no", "999", *command[at + 2 :]]
    refused = _run([SUNMI_FACE, *other_store], env, tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert "--shop-no / --shop-id 999 contradicts the journal's" in refused.stderr
    assert _group_faces(server, env, tmp_path, "G") == faces  # nothing more was sent


def test_resuming_into_another_group_is_refused_naming_both(
    server: dict[str, str], tmp_path: Path
) -> None:
    write_faces(tmp_path / "photos", 12)
    env = _env(
        {
            "SUNMI_APP_ID": server["app_id"],
            "SUNMI_APP_KEY": server["app_key"],
            "SUNMI_BASE_URL": server["base_url"],
            "SUNMI_SHOP_NO": server["shop_no"],
        }
    )
    journal = tmp_path / "job.sqlite"
    first = [SUNMI_FACE, "enroll", "photos", "--group", "J1", "--create-group"]
    first += ["--journal", str(journal), "--external-key-slot", "1"]
    assert _run(first, env, tmp_path).returncode == 0
    assert _run([SUNMI_FACE, "groups", "create", "J2"], env, tmp_path).returncode == 0
    j1, j2 = (_group_id(server, env, tmp_path, name) for name in ("J1", "J2"))

    again = [SUNMI_FACE, "enroll", "photos", "--group", "J2", "--journal", str(journal)]
    refused = _run([*again, "--resume"], env, tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert f"--group is {j2} here but {j1} in the journal" in refused.stderr
    assert _group_faces(server, env, tmp_path, "J2") == Counter()  # before: "12 skipped"

    # Without --resume, the journal's own command is offered, complete.
    offered = _run(again, env, tmp_path)
    assert offered.returncode == 2
    assert f"--group {j1} --journal {journal} --resume" in offered.stderr
