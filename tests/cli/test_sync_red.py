"""``sunmi-face sync`` under attack: a plan leaves no journal behind, its printed command
runs as printed from a path with spaces and quotes, ``--resume`` refuses a changed
``--prune``, ``--replace-pictures`` or manifest naming it, nothing prints the app_key or a
raw escape sequence the server holds, and the default journal stays in its folder."""

from __future__ import annotations

import contextlib
import json
import shlex
import sqlite3
from pathlib import Path

import pytest

from sunmi_face_async.cli._enroll import JOURNAL_DIR
from sunmi_face_async.cli._sync import default_journal
from sunmi_face_async.testing import FakeSunmiCloud
from sunmi_face_async.testing.pictures import tiny_png

from .conftest import Invoke

SYNC = ("--external-key-slot", "1")


def manifest(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True)
    rows = []
    for n in range(count):
        (folder / f"{n}.png").write_bytes(tiny_png(n))
        rows.append({"picture": f"{n}.png", "name": f"p{n}", "external_key": f"emp-{n}"})
    path = folder / "st aff.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def staff(invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    made = invoke(["groups", "create", "staff", "--capacity", "100"])
    assert made.exit_code == 0, made.output
    return manifest(tmp_path / "my dir" / "it's", 3)


def _after(output: str, lead: str) -> list[str]:
    line = next(line for line in output.splitlines() if line.startswith(lead))
    argv = shlex.split(line[len(lead) :])
    assert argv[0] == "sunmi-face"
    return argv[1:]


def test_a_plan_writes_no_journal_and_its_command_runs_as_printed(
    invoke: Invoke, cloud: FakeSunmiCloud, staff: Path, tmp_path: Path
) -> None:
    plan = invoke(["sync", str(staff), "-g", "staff", *SYNC, "--plan"])
    assert plan.exit_code == 0, plan.output
    assert "plan: add 3," in plan.output
    assert list(tmp_path.rglob("*.sqlite*")) == []
    assert not (tmp_path / ".sunmi-face").exists()

    applied = invoke(_after(plan.output, "to apply this plan run: "))
    assert applied.exit_code == 0, applied.output
    assert "synced: add 3," in applied.output
    (journal,) = tmp_path.rglob("*.sqlite")
    with contextlib.closing(sqlite3.connect(journal)) as conn:
        dump = "\n".join(conn.iterdump())
    assert cloud.app_key not in dump
    assert cloud.app_key not in plan.output + applied.output


@pytest.mark.parametrize("flag", ["--prune", "--replace-pictures"])
def test_resume_refuses_a_changed_flag_naming_it_and_a_new_run_takes_it(
    invoke: Invoke, cloud: FakeSunmiCloud, staff: Path, tmp_path: Path, flag: str
) -> None:
    journal = tmp_path / "j.sqlite"
    first = invoke(["sync", str(staff), "-g", "staff", *SYNC, "--journal", str(journal)])
    assert first.exit_code == 0, first.output

    resumed = invoke(
        ["sync", str(staff), "-g", "staff", *SYNC, "--journal", str(journal), "--resume", flag]
    )
    assert resumed.exit_code == 2, resumed.output
    assert (
        f"--resume finishes the journal's last run as it ran: {flag} is set here but was"
        " not in that run; run without --resume to sync with this run's flags"
    ) in " ".join(resumed.output.split())

    again = invoke(["sync", str(staff), "-g", "staff", *SYNC, "--journal", str(journal), flag])
    assert again.exit_code == 0, again.output
    same = invoke(
        ["sync", str(staff), "-g", "staff", *SYNC, "--journal", str(journal), "--resume", flag]
    )
    assert same.exit_code == 0, same.output
    back = invoke(["sync", str(staff), "-g", "staff", *SYNC, "--journal", str(journal), "--resume"])
    assert back.exit_code == 2, back.output
    assert f"{flag} is not set here but was in that run" in " ".join(back.output.split())


@pytest.mark.parametrize("group_id", ["../../../tmp/evil", "/etc/x", "a/b"])
def test_the_default_journal_stays_in_its_folder_whatever_id_the_server_gives(
    group_id: str,
) -> None:
    path = default_journal(Path("staff.csv"), group_id, (1, 4))
    assert path.parent == JOURNAL_DIR
    assert "/" not in path.name
    assert path.name.startswith("sync-staff.csv-")
    assert path.name.endswith("-shard-1-of-4.sqlite")


def test_a_key_the_server_holds_reaches_the_terminal_escaped(
    invoke: Invoke, cloud: FakeSunmiCloud, staff: Path
) -> None:
    group_id = next(g.group_id for g in cloud.groups_of() if g.name == "staff")
    cloud.shop_state().add_face(
        group_id,
        name="x",
        gender=0,
        age_range=0,
        values=["\x1b]0;owned\x07\x1b[2Jk", "", "", "", ""],
        pic_sha256="0" * 64,
        pic_size=40,
    )
    plan = invoke(["sync", str(staff), "-g", "staff", *SYNC, "--prune", "--plan"])
    assert plan.exit_code == 0, plan.output
    assert "\x1b" not in plan.output
    assert "\x07" not in plan.output
    assert "\\x1b]0;owned\\x07\\x1b[2Jk" in plan.output


def test_resume_refuses_a_manifest_changed_since_the_last_run_naming_it(
    invoke: Invoke, staff: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "j.sqlite"
    base = ["sync", str(staff), "-g", "staff", *SYNC, "--journal", str(journal)]
    assert invoke(base).exit_code == 0
    assert invoke([*base, "--resume"]).exit_code == 0  # unchanged: resumes
    with staff.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"picture": "0.png", "name": "p9", "external_key": "emp-9"}))
        handle.write("\n")
    resumed = invoke([*base, "--resume"])
    assert resumed.exit_code == 2, resumed.output
    assert (
        f"--resume finishes the journal's last run as it ran: MANIFEST {staff} has changed"
        " since that run; run without --resume to sync with this run's flags"
    ) in " ".join(resumed.output.split())
    assert invoke(base).exit_code == 0  # a new run takes the manifest as it is now
