"""The CLI's word on a journal it cannot use (issue 10, case 3): one line naming the file and
the cause, and what to do, never a traceback or an exception group."""

from __future__ import annotations

import json
import sqlite3
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
    from sunmi_face_async.bulk import journal as journal_module

    monkeypatch.setattr(journal_module, "connect", tiny_disk)
    args = ["enroll", "pics", "--group", "G", "--create-group", "--journal", "j.sqlite"]
    args += ["--external-key-slot", "1"]
    result = invoke(args)
    assert result.exit_code == 2, result.output
    [line] = _error_lines(result.output)
    assert line.startswith("error: cannot write the journal j.sqlite: database or disk is full")
    assert "resume: sunmi-face enroll " in line
    assert "--journal j.sqlite --resume" in line
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
