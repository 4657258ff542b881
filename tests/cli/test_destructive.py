"""Issue 11 case 8: ``faces delete --all`` asks first (showing the count), or needs --yes.

On a terminal the question names the group and how many faces go; anything but yes deletes
nothing. Without a terminal there is no one to ask: the command refuses (exit 2) unless
``--yes`` is given.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sunmi_face_async.testing.pictures import write_faces

from ._proc import Fake, fake, run, run_pty

__all__ = ["fake"]

QUESTION = "Delete all 6 faces of group 'Team'"


@pytest.fixture
def team(fake: Fake, tmp_path: Path) -> Fake:
    """A group 'Team' holding 6 faces."""
    write_faces(tmp_path / "pics", 6)
    enrolled = run(["enroll", "pics", "--group", "Team", "--create-group"], fake, tmp_path)
    assert enrolled.returncode == 0, enrolled.stderr
    assert len(fake.faces_in("Team")) == 6
    return fake


def test_without_a_terminal_delete_all_needs_yes(team: Fake, tmp_path: Path) -> None:
    refused = run(["faces", "delete", "--group", "Team", "--all"], team, tmp_path)
    assert refused.returncode == 2
    assert "add --yes" in refused.stderr
    assert "no terminal" in refused.stderr
    assert len(team.faces_in("Team")) == 6, "nothing was deleted"

    done = run(["faces", "delete", "--group", "Team", "--all", "--yes"], team, tmp_path)
    assert done.returncode == 0, done.stderr
    assert team.faces_in("Team") == []


def test_on_a_terminal_no_keeps_the_faces(team: Fake, tmp_path: Path) -> None:
    result = run_pty(
        ["faces", "delete", "--group", "Team", "--all"], team, tmp_path, answer=(QUESTION, "n")
    )
    assert QUESTION in result.screen
    assert "[y/N]" in result.screen
    assert result.returncode == 1, result.screen
    assert "nothing deleted" in result.screen
    assert len(team.faces_in("Team")) == 6


def test_on_a_terminal_yes_deletes(team: Fake, tmp_path: Path) -> None:
    result = run_pty(
        ["faces", "delete", "--group", "Team", "--all"], team, tmp_path, answer=(QUESTION, "y")
    )
    assert result.returncode == 0, result.screen
    assert "deleted 6 of 6 faces from Team" in result.screen
    assert team.faces_in("Team") == []


def test_named_ids_are_deleted_without_a_question(team: Fake, tmp_path: Path) -> None:
    face_id = team.faces_in("Team")[0]["face_id"]
    result = run(["faces", "delete", "--group", "Team", face_id], team, tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(team.faces_in("Team")) == 5
