"""groups, faces and strategy commands against the in-process fake, through CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sunmi_face_async.cli._strategy import parse_period
from sunmi_face_async.models import Gender
from sunmi_face_async.testing import FakeSunmiCloud

from .conftest import Invoke, png_files


def group_id(cloud: FakeSunmiCloud, name: str) -> str:
    return next(g.group_id for g in cloud.groups_of() if g.name == name)


def test_groups_create_list_show_update_delete(invoke: Invoke, cloud: FakeSunmiCloud) -> None:
    created = invoke(["groups", "create", "VIP", "--capacity", "500", "--key", "level"])
    assert created.exit_code == 0, created.output
    vip = next(g for g in cloud.groups_of() if g.name == "VIP")
    assert (vip.capacity, vip.customer_keys) == (500, ("level",))
    assert vip.group_id in created.stdout

    listed = invoke(["groups", "list", "--json"])
    assert listed.exit_code == 0
    names = {g["name"]: g for g in json.loads(listed.stdout)}
    assert names["VIP"]["group_id"] == vip.group_id
    assert names["VIP"]["customer_keys"] == ["level"]

    table = invoke(["groups", "list"])
    assert "VIP" in table.stdout
    assert vip.group_id in table.stdout

    shown = invoke(["--json", "groups", "show", "VIP"])
    assert json.loads(shown.stdout)["capacity"] == 500

    assert invoke(["groups", "update", vip.group_id, "--name", "Gold"]).exit_code == 0
    assert [g.name for g in cloud.groups_of() if g.group_id == vip.group_id] == ["Gold"]

    deleted = invoke(["groups", "delete", "Gold"])
    assert deleted.exit_code == 0
    assert vip.group_id not in {g.group_id for g in cloud.groups_of()}


def test_unknown_group_is_one_line_and_exit_2(invoke: Invoke) -> None:
    result = invoke(["groups", "show", "nope"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: unknown group 'nope'")
    assert "Traceback" not in result.output


def test_server_refusal_is_one_line_and_exit_1(invoke: Invoke, cloud: FakeSunmiCloud) -> None:
    stranger = next(g for g in cloud.groups_of() if g.name == "stranger")
    result = invoke(["groups", "delete", stranger.group_id])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: the server refused the request")
    assert "5524" in lines[0]


def test_nothing_to_update_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke(["groups", "update", "stranger"])
    assert result.exit_code == 2
    assert "nothing to change" in result.output


def test_missing_credentials_exit_2_without_traceback(bare_invoke: Invoke) -> None:
    result = bare_invoke(["groups", "list"])
    assert result.exit_code == 2
    assert result.stderr == "error: no app id: pass --app-id or set SUNMI_APP_ID\n"


def test_wrong_key_is_a_configuration_error_and_is_never_printed(
    invoke: Invoke, cloud: FakeSunmiCloud
) -> None:
    secret = "wrong-secret-0000000000"
    for args in (["groups", "list"], ["--debug", "groups", "list"]):
        result = invoke(args, env={"SUNMI_APP_KEY": secret})
        assert result.exit_code == 2, result.output
        assert "refused the credentials" in result.stderr
        assert secret not in result.output
    debug = invoke(["--debug", "groups", "list"])
    assert "app_key=****" in debug.stderr
    assert cloud.app_key not in debug.output


def test_debug_adds_a_traceback(invoke: Invoke, cloud: FakeSunmiCloud) -> None:
    stranger = group_id(cloud, "stranger")
    result = invoke(["groups", "delete", stranger, "--debug"])
    assert result.exit_code == 1
    assert "Traceback" in result.stderr


def test_key_from_file_and_from_hidden_prompt(
    invoke: Invoke, cloud: FakeSunmiCloud, tmp_path: Path
) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(cloud.app_key + "\n")
    from_file = invoke(
        ["--app-key-file", str(key_file), "groups", "list"], env={"SUNMI_APP_KEY": ""}
    )
    assert from_file.exit_code == 0, from_file.output
    from_stdin = invoke(
        ["--app-key-file", "-", "groups", "list"], env={"SUNMI_APP_KEY": ""}, input=cloud.app_key
    )
    assert from_stdin.exit_code == 0, from_stdin.output
    assert cloud.app_key not in from_stdin.output


def test_faces_add_show_update_list(invoke: Invoke, cloud: FakeSunmiCloud, tmp_path: Path) -> None:
    assert invoke(["groups", "create", "VIP"]).exit_code == 0
    (picture,) = png_files(tmp_path, 1)
    added = invoke(
        [
            "--json",
            "faces",
            "add",
            str(picture),
            "-g",
            "VIP",
            "--name",
            "Mike",
            "--gender",
            "male",
            "--age",
            "19-28",
            "--value",
            "gold",
        ]
    )
    assert added.exit_code == 0, added.output
    face_id = json.loads(added.stdout)["face_id"]
    (face,) = cloud.faces_in(group_id(cloud, "VIP"))
    assert (face.face_id, face.name, face.gender, face.customer_values) == (
        face_id,
        "Mike",
        Gender.MALE,
        ("gold",),
    )

    shown = invoke(["faces", "show", face_id, "--json"])
    assert json.loads(shown.stdout)["name"] == "Mike"

    assert invoke(["faces", "update", face_id, "-g", "VIP", "--name", "Mike Li"]).exit_code == 0
    assert cloud.faces_in(group_id(cloud, "VIP"))[0].name == "Mike Li"

    listed = invoke(["faces", "list", "-g", "VIP"])
    assert "Mike Li" in listed.stdout


def test_faces_add_missing_picture_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke(["faces", "add", "/nonexistent.png", "-g", "stranger"])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def _enroll_three(invoke: Invoke, tmp_path: Path) -> None:
    png_files(tmp_path / "pics", 3)
    result = invoke(["enroll", str(tmp_path / "pics"), "-g", "A", "--create-group", "--no-journal"])
    assert result.exit_code == 0, result.output


def test_faces_move_and_delete(invoke: Invoke, cloud: FakeSunmiCloud, tmp_path: Path) -> None:
    _enroll_three(invoke, tmp_path)
    assert invoke(["groups", "create", "B"]).exit_code == 0
    a, b = group_id(cloud, "A"), group_id(cloud, "B")
    ids = sorted(f.face_id for f in cloud.faces_in(a))

    moved = invoke(["faces", "move", "--from", "A", "--to", "B", ids[0], ids[1]])
    assert moved.exit_code == 0, moved.output
    assert sorted(f.face_id for f in cloud.faces_in(b)) == ids[:2]
    assert "moved 2 of 2 faces" in moved.stdout

    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(f"{ids[0]}\n\n{ids[0]}\n")
    deleted = invoke(["faces", "delete", "-g", "B", "--ids-file", str(ids_file), "--json"])
    assert deleted.exit_code == 0, deleted.output
    assert json.loads(deleted.stdout) == {"done": 1, "failed": 0, "failures": []}
    assert [f.face_id for f in cloud.faces_in(b)] == [ids[1]]


def test_move_reports_ids_not_in_the_group_and_moves_the_rest(
    invoke: Invoke, cloud: FakeSunmiCloud, tmp_path: Path
) -> None:
    _enroll_three(invoke, tmp_path)
    assert invoke(["groups", "create", "B"]).exit_code == 0
    ids = sorted(f.face_id for f in cloud.faces_in(group_id(cloud, "A")))
    result = invoke(["faces", "move", "--from", "A", "--to", "B", ids[0], "999999999999"])
    assert result.exit_code == 1
    assert "failed: 999999999999" in result.stderr
    assert "moved 1 of 2 faces" in result.stdout
    assert [f.face_id for f in cloud.faces_in(group_id(cloud, "B"))] == [ids[0]]


def test_delete_all(invoke: Invoke, cloud: FakeSunmiCloud, tmp_path: Path) -> None:
    _enroll_three(invoke, tmp_path)
    result = invoke(["faces", "delete", "-g", "A", "--all", "--yes"])
    assert result.exit_code == 0, result.output
    assert cloud.faces_in(group_id(cloud, "A")) == []


def test_delete_needs_ids(invoke: Invoke) -> None:
    result = invoke(["faces", "delete", "-g", "stranger"])
    assert result.exit_code == 2
    assert "give face ids" in result.output


def test_strategy_set(invoke: Invoke, cloud: FakeSunmiCloud) -> None:
    result = invoke(
        ["strategy", "set", "--target", "regular", "--threshold", "4", "--period", "7d"]
    )
    assert result.exit_code == 0, result.output
    assert "604800" in result.stdout
    assert cloud.stats.requests_by_endpoint["/face/group/updateMoveStrategy"] == 1


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("604800", 604800), ("7d", 604800), ("12h", 43200), ("1d12h", 129600), ("2w", 1209600)],
)
def test_parse_period(text: str, seconds: int) -> None:
    assert parse_period(text) == seconds


@pytest.mark.parametrize("text", ["", "7x", "d", "0", "-5"])
def test_parse_period_refuses_nonsense(text: str) -> None:
    import click

    with pytest.raises(click.BadParameter):
        parse_period(text)


def test_ask_key_needs_a_terminal(invoke: Invoke) -> None:
    result = invoke(["--ask-key", "groups", "list"], env={"SUNMI_APP_KEY": ""})
    assert result.exit_code == 2
    assert "--ask-key needs a terminal" in result.stderr


def test_fake_server_refuses_a_non_loopback_host(invoke: Invoke) -> None:
    result = invoke(["fake-server", "--host", "192.0.2.1"])
    assert result.exit_code == 2
    assert "loopback" in result.output


@pytest.mark.parametrize("rate", ["5000", "x=0.1", "5000=lots"])
def test_fake_server_refuses_bad_error_rates(invoke: Invoke, rate: str) -> None:
    result = invoke(["fake-server", "--port", "0", "--error-rate", rate])
    assert result.exit_code == 2
    assert "CODE=RATE" in result.output


def test_fake_server_refuses_rates_above_one(invoke: Invoke) -> None:
    result = invoke(
        ["fake-server", "--port", "0", "--error-rate", "5000=0.7", "--drop-rate", "0.5"]
    )
    assert result.exit_code == 2
    assert "more than 1" in result.output
