"""The CLI's word on a journal it cannot use (issue 10, case 3): one line naming the file and
the cause, and what to do, never a traceback or an exception group."""

from __future__ import annotations

import json
import re
import shlex
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from sunmi_face_async.bulk import _journal_file
from sunmi_face_async.testing import FakeSunmiCloud

from .conftest import Invoke, png_files


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    png_files(tmp_path / "pics", 200)
    return tmp_path


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


def test_a_full_disk_is_one_message_naming_the_journal_and_the_cause(
    invoke: Invoke, cloud: FakeSunmiCloud, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = _journal_file.connect

    def tiny_disk(path: str, *, resume: bool | None) -> sqlite3.Connection:
        conn = opened(path, resume=resume)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages + 2}")  # full after two more pages
        return conn

    monkeypatch.setattr(_journal_file, "connect", tiny_disk)
    from sunmi_face_async.bulk import _journal_lock

    monkeypatch.setattr(_journal_lock, "connect", tiny_disk)
    args = ["enroll", "pics", "--group", "G", "--create-group", "--journal", "j.sqlite"]
    args += ["--external-key-slot", "1"]
    result = invoke(args)
    assert result.exit_code == 2, result.output
    [line] = _error_lines(result.output)
    assert line.startswith("error: cannot write the journal j.sqlite: database or disk is full")
    assert "resume: sunmi-face enroll " in line
    assert re.search(r"--journal \S*j\.sqlite --resume", line), line
    assert "ExceptionGroup" not in result.output
    assert "rollback" not in result.output


def test_resuming_an_empty_journal_is_refused_with_what_to_do(
    invoke: Invoke, workdir: Path
) -> None:
    (workdir / "j.sqlite").write_bytes(b"")
    result = invoke(["enroll", "pics", "--group", "G", "--journal", "j.sqlite", "--resume"])
    assert result.exit_code == 2, result.output
    [line] = _error_lines(result.output)
    assert "the journal j.sqlite is empty (0 bytes)" in line
    assert "see what the group holds (sunmi-face export --group G)" in line
    assert "--journal PATH" in line


def test_a_damaged_journal_is_refused_even_without_resume(
    invoke: Invoke, cloud: FakeSunmiCloud, workdir: Path
) -> None:
    first = invoke(["enroll", "pics", "--group", "G", "--create-group", "--journal", "j.sqlite"])
    assert first.exit_code == 0, first.output
    data = bytearray((workdir / "j.sqlite").read_bytes())
    data[:16] = b"not a database!!"
    (workdir / "j.sqlite").write_bytes(bytes(data))
    for args in (["--resume"], []):
        result = invoke(["enroll", "pics", "--group", "G", "--journal", "j.sqlite", *args])
        assert result.exit_code == 2, result.output
        [line] = _error_lines(result.output)
        assert line.startswith("error: the journal j.sqlite is damaged: file is not a database")


def test_resume_without_journal_flag_takes_the_default_journals_settings(
    invoke: Invoke, cloud: FakeSunmiCloud, workdir: Path
) -> None:
    first = invoke(["--json", "enroll", "pics", "--group", "G", "--create-group", "--shard", "0/2"])
    assert first.exit_code == 0, first.output
    [group] = [g for g in cloud.shop_state().groups.values() if g.name == "G"]
    enrolled = len(cloud.faces_in(group.group_id))
    assert 0 < enrolled < 200
    again = invoke(["--json", "enroll", "pics", "--group", group.group_id, "--resume"])
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert report["counts"]["skipped"] == enrolled  # the shard came from the journal
    assert report["sent"] == 0
    assert len(cloud.faces_in(group.group_id)) == enrolled


def _group_id(cloud: FakeSunmiCloud, name: str) -> str:
    [group] = [g for g in cloud.shop_state().groups.values() if g.name == name]
    return str(group.group_id)


def test_a_journal_that_cannot_be_created_is_removed_and_the_same_command_is_printed(
    invoke: Invoke, cloud: FakeSunmiCloud, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = _journal_file._create_schema

    def no_room(conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA max_page_count = 1")  # the disk is full before the tables fit
        made(conn)

    monkeypatch.setattr(_journal_file, "_create_schema", no_room)
    args = ["enroll", "pics", "--group", "G", "--create-group", "--journal", "j.sqlite"]
    result = invoke(args)
    assert result.exit_code == 2, result.output
    [line] = _error_lines(result.output)
    assert line.startswith("error: cannot write the journal j.sqlite: database or disk is full")
    assert "Nothing was sent" in line
    command = line.partition("then run the same command again: ")[2]
    assert command.startswith("sunmi-face enroll "), line
    assert "--resume" not in command
    assert not (workdir / "j.sqlite").exists()  # no half-made journal that refuses a rerun
    group = _group_id(cloud, "G")
    assert cloud.faces_in(group) == []
    monkeypatch.setattr(_journal_file, "_create_schema", made)  # space freed
    again = invoke(shlex.split(command)[1:])
    assert again.exit_code == 0, again.output
    assert len(cloud.faces_in(group)) == 200


def test_answers_the_journal_could_not_record_are_named_not_called_lost_connections(
    invoke: Invoke, cloud: FakeSunmiCloud, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sunmi_face_async.bulk.journal import Journal, Status

    # The disk fills up exactly when answers are to be recorded (claims are written in
    # batches ahead of sending, so a page limit could also stop a claim first).
    original = Journal._status_write

    def full_when_done(
        self: Journal,
        key: str,
        status: Status,
        face_id: str | None,
        error: str | None,
        attempts: int = 0,
    ) -> Callable[[sqlite3.Connection], None]:
        write = original(self, key, status, face_id, error, attempts)
        if status is not Status.DONE:
            return write

        def disk_full(conn: sqlite3.Connection) -> None:
            raise sqlite3.OperationalError("database or disk is full")

        return disk_full

    monkeypatch.setattr(Journal, "_status_write", full_when_done)
    args = ["enroll", "pics", "--group", "G", "--create-group", "--journal", "j.sqlite"]
    result = invoke(args)
    assert result.exit_code == 2, result.output
    [line] = _error_lines(result.output)
    assert "then resume: sunmi-face enroll " in line
    said = re.search(r"The server answered (\d+) upload\(s\) whose answer the journal", line)
    assert said is not None, line
    group = _group_id(cloud, "G")
    on_server = {face.face_id for face in cloud.faces_in(group)}
    named = re.findall(r"\(face_id ([^)]+)\)", line)
    assert named
    assert set(named) <= on_server
    monkeypatch.setattr(Journal, "_status_write", original)  # space freed
    resume = line.partition("then resume: ")[2].partition("--resume")[0] + "--resume"
    again = invoke(["--json", *shlex.split(resume)[1:]])
    assert again.exit_code == 1, again.output
    assert "the connection ended before the server's answer" not in again.output
    assert "an earlier run did not record the server's answer in the journal" in again.output


_HOLDER = """
import sys
from sunmi_face_async.bulk import Journal
journal = Journal(sys.argv[1], resume=True)
journal.open()
print("holding", flush=True)
sys.stdin.read()
"""


def test_a_journal_in_use_by_another_process_is_refused_naming_its_pid(
    invoke: Invoke, cloud: FakeSunmiCloud, workdir: Path
) -> None:
    import subprocess
    import sys

    first = invoke(["enroll", "pics", "--group", "G", "--create-group", "--journal", "j.sqlite"])
    assert first.exit_code == 0, first.output
    group = _group_id(cloud, "G")
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(workdir / "j.sqlite")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "holding\n"
        for extra in (["--resume"], []):
            result = invoke(["enroll", "pics", "--group", group, "--journal", "j.sqlite", *extra])
            assert result.exit_code == 2, result.output
            [line] = _error_lines(result.output)
            assert line == (
                f"error: the journal j.sqlite is in use by another process (pid {holder.pid}): "
                "wait for that job to end (or stop it), then run this command again"
            )
    finally:
        holder.communicate(timeout=30)
    assert len(cloud.faces_in(group)) == 200  # nothing sent twice
    again = invoke(["enroll", "pics", "--group", group, "--journal", "j.sqlite", "--resume"])
    assert again.exit_code == 0, again.output
