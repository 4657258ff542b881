"""``sunmi-face sync`` against ``sunmi-face fake-server`` over HTTP: the ``--plan --json``
shape, apply, a second run that sends no write, bad rows, and the printed commands run as
printed."""

from __future__ import annotations

import json
import os
import shlex
import signal
import time
from collections import Counter
from pathlib import Path

from sunmi_face_async.testing.pictures import tiny_png

from ._proc import SUNMI_FACE, TIMEOUT, Fake, clean_env, fake, run, run_env, spawn, stop

__all__ = ["fake"]

WRITES = ("/face/add", "/face/update", "/face/delete", "/face/group/move")


def manifest(tmp: Path, rows: list[dict[str, object]]) -> Path:
    (tmp / "pics").mkdir(exist_ok=True)
    for row in rows:
        picture = tmp / str(row["picture"])
        if not picture.exists():
            picture.write_bytes(tiny_png(int(str(row["external_key"]).split("-")[1])))
    path = tmp / "staff.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def staff(n: int, **extra: object) -> dict[str, object]:
    return {"picture": f"pics/{n}.png", "name": f"person {n}", "external_key": f"emp-{n}", **extra}


def writes(fake: Fake) -> dict[str, int]:
    return {path: n for path in WRITES if (n := fake.requests(path))}


def printed(stderr: str, lead: str) -> list[str]:
    """The command printed after ``lead``, as argv without the program name."""
    line = next(line for line in stderr.splitlines() if line.startswith(lead))
    argv = shlex.split(line[len(lead) :])
    assert argv[0] == "sunmi-face"
    return argv[1:]


def group(fake: Fake, tmp: Path) -> str:
    made = run(["groups", "create", "staff", "--capacity", "100", "--json"], fake, tmp)
    assert made.returncode == 0, made.stderr
    return str(fake.groups()["staff"]["group_id"])


def test_plan_json_is_exactly_the_counts_and_items_and_sends_no_write(
    fake: Fake, tmp_path: Path
) -> None:
    group_id = group(fake, tmp_path)
    path = manifest(tmp_path, [staff(0), staff(1)])
    fake.reset_stats()
    args = ["sync", str(path), "--group", "staff", "--external-key-slot", "1", "--plan", "--json"]
    result = run(args, fake, tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "add": 2,
        "update": 0,
        "move": 0,
        "delete": 0,
        "replace": 0,
        "unchanged": 0,
        "duplicates": 0,
        "items": [
            {"action": "add", "key": "emp-0", "group": group_id, "line": 1},
            {"action": "add", "key": "emp-1", "group": group_id, "line": 2},
        ],
    }
    assert writes(fake) == {}
    assert fake.faces_in("staff") == []


def test_the_printed_apply_command_runs_and_a_second_run_sends_no_write(
    fake: Fake, tmp_path: Path
) -> None:
    group(fake, tmp_path)
    path = manifest(tmp_path, [staff(0), staff(1), staff(2)])
    plan = run(
        ["sync", str(path), "-g", "staff", "--external-key-slot", "1", "--plan"], fake, tmp_path
    )
    assert plan.returncode == 0, plan.stderr
    assert "plan: add 3, update 0, move 0, delete 0, replace 0, unchanged 0" in plan.stdout
    apply = printed(plan.stderr, "to apply this plan run: ")
    assert "--plan" not in apply

    other = tmp_path / "elsewhere"
    other.mkdir()
    done = run_env(apply, clean_env(fake.env), other)  # from another directory, as printed
    assert done.returncode == 0, done.stderr
    assert "synced: add 3" in done.stdout
    names = sorted(f["name"] for f in fake.faces_in("staff"))
    assert names == ["person 0", "person 1", "person 2"]

    fake.reset_stats()
    again = run_env([*apply, "--json"], clean_env(fake.env), other)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["unchanged"] == 3
    assert report["items"] == []
    assert report["writes"] == {}
    assert writes(fake) == {}


def test_a_rename_and_prune_then_the_resume_command_after_failures_finishes_it(
    fake: Fake, tmp_path: Path
) -> None:
    group(fake, tmp_path)
    path = manifest(tmp_path, [staff(0), staff(1)])
    base = ["sync", str(path), "-g", "staff", "--external-key-slot", "1"]
    assert run(base, fake, tmp_path).returncode == 0
    path = manifest(tmp_path, [staff(0, name="renamed"), staff(2)])
    fake.set_faults(error_rates={"5020": 1.0}, endpoints=["/face/update"])
    failed = run([*base, "--prune"], fake, tmp_path)
    assert failed.returncode == 1, failed.stderr
    assert "failed: " in failed.stderr
    assert [f["name"] for f in fake.faces_in("staff")] == ["person 0", "person 2"]
    resume = printed(failed.stderr, "to finish the job run: ")
    assert "--resume" in resume
    assert "--prune" in resume
    fake.set_faults(error_rates={}, endpoints=None)
    finished = run_env(resume, clean_env(fake.env), tmp_path)
    assert finished.returncode == 0, finished.stderr
    faces = sorted((f["customer_value1"], f["name"]) for f in fake.faces_in("staff"))
    assert faces == [("emp-0", "renamed"), ("emp-2", "person 2")]


def test_a_bad_row_names_file_line_and_field(fake: Fake, tmp_path: Path) -> None:
    group(fake, tmp_path)
    path = manifest(tmp_path, [staff(0), staff(1, gender="robot")])
    result = run(["sync", str(path), "-g", "staff", "--external-key-slot", "1"], fake, tmp_path)
    assert result.returncode == 1
    why = "gender must be 0, 1, 2, unknown, male or female, not 'robot'"
    assert f"invalid: {path}:2: {why}" in result.stderr.splitlines()
    assert [f["name"] for f in fake.faces_in("staff")] == ["person 0"]


def test_ctrl_c_prints_a_command_that_finishes_the_job_and_another_slot_is_refused(
    fake: Fake, tmp_path: Path
) -> None:
    group(fake, tmp_path)
    path = manifest(tmp_path, [staff(n) for n in range(40)])
    fake.set_faults(latency=0.05, endpoints=["/face/add"])
    argv = [SUNMI_FACE, "--timeout", "1", "sync", str(path), "-g", "staff"]
    process = spawn(
        [*argv, "--external-key-slot", "1", "--concurrency", "2"], clean_env(fake.env), tmp_path
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        while fake.requests("/face/add") < 6 and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=TIMEOUT)
    finally:
        stop(process)
    assert process.returncode == 130, err
    lines = err.splitlines()
    hint = lines[lines.index("the sync journal records the actions in flight; run again with:") + 1]
    command = shlex.split(hint)
    assert command[0] == "sunmi-face"
    assert "--journal" in command  # the same journal, whatever the directory
    assert 0 < len(fake.faces_in("staff")) < 40

    fake.set_faults(latency=0.0)
    finished = run_env(command[1:], clean_env(fake.env), tmp_path)
    assert finished.returncode == 0, finished.stderr
    keys = Counter(f["customer_value1"] for f in fake.faces_in("staff"))
    assert keys == Counter(f"emp-{n}" for n in range(40))  # each once: none sent twice

    at = command.index("--external-key-slot")
    other = [*command[1:at], "--external-key-slot", "2", *command[at + 2 :]]
    refused = run_env(other, clean_env(fake.env), tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert "--external-key-slot is 2 here but 1 in the journal" in refused.stderr
