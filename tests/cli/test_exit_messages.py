"""Issue 11 case 5: right exit codes and messages that say what to do.

A wrong app id (5041 invalid integrator) is a configuration error like a wrong key: exit 2
and the same hint. Deleting a group that holds faces says how to empty it. A bad gender in
a manifest names the accepted words.
"""

from __future__ import annotations

from pathlib import Path

from sunmi_face_async.testing.pictures import write_faces

from ._proc import Fake, fake, run

__all__ = ["fake"]

HINT = "check the app id (--app-id, SUNMI_APP_ID), the app key (SUNMI_APP_KEY)"


def test_a_wrong_app_id_is_treated_like_a_wrong_key(fake: Fake, tmp_path: Path) -> None:
    wrong_id = run(["--app-id", "NOSUCHAPP", "groups", "list"], fake, tmp_path)
    wrong_key = run(
        ["--app-key-file", "-", "groups", "list"], fake, tmp_path, stdin="not-the-key\n"
    )
    for result in (wrong_id, wrong_key):
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("error: the server refused the credentials (")
        assert HINT in result.stderr
    assert "code 5041: invalid integrator" in wrong_id.stderr
    assert "code 5090" in wrong_key.stderr
    assert fake.env["SUNMI_APP_KEY"] not in wrong_id.stderr + wrong_key.stderr


def test_deleting_a_group_with_faces_says_how_to_empty_it(fake: Fake, tmp_path: Path) -> None:
    write_faces(tmp_path / "pics", 2)
    assert run(["enroll", "pics", "-g", "Team", "--create-group"], fake, tmp_path).returncode == 0
    result = run(["groups", "delete", "Team"], fake, tmp_path)
    assert result.returncode == 1
    assert "group 'Team' still holds 2 faces" in result.stderr
    assert "`sunmi-face faces delete --group Team --all`" in result.stderr
    assert "`sunmi-face faces move --from Team --to OTHER --all`" in result.stderr
    assert len(fake.faces_in("Team")) == 2


def test_a_bad_gender_names_the_accepted_words(fake: Fake, tmp_path: Path) -> None:
    write_faces(tmp_path / "pics", 1)
    manifest = tmp_path / "faces.csv"
    manifest.write_text("picture,name,gender\npics/face-00000.png,Ann,robot\n", encoding="utf-8")
    result = run(["enroll", "faces.csv", "--group", "regular"], fake, tmp_path)
    assert result.returncode == 1
    assert "gender must be 0, 1, 2, unknown, male or female, not 'robot'" in result.stderr
    assert "must be a number" not in result.stderr
    assert "line:2" not in result.stderr, "the row is named once (no `line:2: line 2:`)"
    assert "invalid: line 2" in result.stderr
