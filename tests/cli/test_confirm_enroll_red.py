"""``sunmi-face enroll --confirm``: the command printed for unconfirmed items runs as
printed, whatever way the credentials were given."""

from __future__ import annotations

import shlex
import sqlite3
from pathlib import Path

from sunmi_face_async.bulk import record_confirmation
from sunmi_face_async.testing.pictures import tiny_png

from ._proc import clean_env, fake_env, fake_server_process, run_env


def test_the_verify_command_printed_for_unconfirmed_items_runs_as_printed(
    tmp_path: Path,
) -> None:
    """Credentials given as flags (an app key file, no SUNMI_* variables): the printed
    ``sunmi-face verify JOURNAL`` failed with "no app key" (exit 2)."""
    photos = tmp_path / "my photos"
    photos.mkdir()
    for i in range(4):
        (photos / f"{i}.png").write_bytes(tiny_png(i))
    with fake_server_process(tmp_path) as (_, details):
        key = tmp_path / "app key.txt"
        key.write_text(details["app_key"])
        flags = ["--app-id", details["app_id"], "--shop-no", details["shop_no"]]
        flags += ["--base-url", details["base_url"], "--app-key-file", str(key)]
        args = ["enroll", str(photos), "--group", "G", "--create-group", "--journal", "j.sqlite"]
        # No receiver records any push: every accepted item ends unconfirmed.
        args += ["--confirm", "push", "--confirm-wait", "0.3"]
        enrolled = run_env([*flags, *args], clean_env(), tmp_path)
        assert enrolled.returncode == 1, enrolled.stderr
        out = enrolled.stdout + enrolled.stderr
        assert "4 accepted upload(s) got no confirmation in time" in out
        printed = out.split("Check them later with: ", 1)[1].splitlines()[0]
        argv = shlex.split(printed)
        assert argv[0] == "sunmi-face"
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        checked = run_env(argv[1:], clean_env(), elsewhere)
    assert checked.returncode == 0, checked.stderr  # the fake refuses nothing: all there
    assert "present" in checked.stdout + checked.stderr
    assert details["app_key"] not in printed


def test_a_hostile_push_reason_reaches_the_terminal_escaped(tmp_path: Path) -> None:
    """The reason a push gives is the platform's (or a forger's with the key) text: a
    newline in it printed a line of its own, which could pass for the tool's."""
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "0.png").write_bytes(tiny_png(0))
    with fake_server_process(tmp_path) as (_, details):
        env = clean_env(fake_env(details))
        args = ["enroll", str(photos), "--group", "G", "--create-group", "--journal", "j.sqlite"]
        assert run_env(args, env, tmp_path).returncode == 0
        conn = sqlite3.connect(tmp_path / "j.sqlite")
        (face_id,) = conn.execute("SELECT face_id FROM items").fetchone()
        conn.close()
        hostile = "no face\nenroll: all 1 faces confirmed \x1b[2J\u202e"
        record_confirmation(tmp_path / "j.sqlite", face_id, 6001, hostile)
        again = ["enroll", str(photos), "--group", "G", "--journal", "j.sqlite", "--resume"]
        resumed = run_env([*again, "--confirm", "push", "--confirm-wait", "0"], env, tmp_path)
    assert resumed.returncode == 1
    out = resumed.stdout + resumed.stderr
    assert "\x1b" not in out
    assert "\u202e" not in out
    assert not any(line.startswith("enroll: all 1 faces") for line in out.splitlines())
    (said,) = [line for line in out.splitlines() if line.startswith("rejected: ")]
    assert said.endswith(
        "rejected by the platform (code 6001): no face\\nenroll: all 1 faces confirmed "
        "\\x1b[2J\\u202e"
    )


def test_confirm_wait_nan_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "0.png").write_bytes(tiny_png(0))
    env = clean_env({"SUNMI_APP_ID": "x", "SUNMI_APP_KEY": "y", "SUNMI_SHOP_NO": "1"})
    env["SUNMI_BASE_URL"] = "http://127.0.0.1:9/openapi"  # nothing listens: nothing is sent
    args = ["enroll", str(photos), "--group", "G", "--confirm", "push", "--journal", "j.sqlite"]
    refused = run_env([*args, "--confirm-wait", "nan"], env, tmp_path)
    assert refused.returncode == 2
    assert "Invalid value for '--confirm-wait': nan is not a finite number of seconds" in (
        refused.stderr
    )
    assert not (tmp_path / "j.sqlite").exists()
