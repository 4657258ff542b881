"""``sunmi-face enroll --confirm``: the command printed for unconfirmed items runs as
printed, whatever way the credentials were given."""

from __future__ import annotations

import shlex
from pathlib import Path

from sunmi_face_async.testing.pictures import tiny_png

from ._proc import clean_env, fake_server_process, run_env


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
