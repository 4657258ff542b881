"""``sunmi-face enroll --confirm listing`` against ``sunmi-face fake-server --reject-rate``:
the report tells accepted, confirmed, rejected and unconfirmed apart, counted against what
the fake lists."""

from __future__ import annotations

import json
import os
import shlex
import signal
from pathlib import Path

import httpx

from sunmi_face_async.testing.pictures import tiny_png

from ._proc import SUNMI_FACE, clean_env, fake_env, fake_server_process, run_env, spawn, stop

N = 200


def _photos(tmp_path: Path, n: int = N) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(n):
        (folder / f"{i:04d}.png").write_bytes(tiny_png(i))
    return folder


def _listed(details: dict[str, str], group_name: str) -> set[str]:
    admin = details["base_url"].rsplit("/openapi", 1)[0] + "/_fake"
    groups = {g["group_name"]: g for g in httpx.get(admin + "/groups", timeout=10).json()}
    faces = httpx.get(admin + f"/faces?group_id={groups[group_name]['group_id']}", timeout=10)
    return {f["face_id"] for f in faces.json()}


def test_confirm_listing_counts_the_rejected_faces_the_fake_does_not_list(tmp_path: Path) -> None:
    photos = _photos(tmp_path)
    options = ("--reject-rate", "0.1", "--processing-delay", "0.2", "--seed", "3")
    with fake_server_process(tmp_path, *options) as (_, details):
        env = clean_env(fake_env(details))
        args = ["enroll", str(photos), "--group", "G", "--create-group", "--journal", "j.sqlite"]
        done = run_env(
            [*args, "--confirm", "listing", "--confirm-wait", "0.4", "--json"], env, tmp_path
        )
        listed = _listed(details, "G")
    assert done.returncode == 1, done.stderr  # rejected items are failures
    report = json.loads(done.stdout)
    missing = N - len(listed)
    assert 5 < missing < 45
    assert report["confirmation"] == {
        "mode": "listing",
        "accepted": N,
        "confirmed": len(listed),
        "rejected": missing,
        "unconfirmed": 0,
    }
    assert report["counts"]["done"] == len(listed)
    assert report["counts"]["rejected"] == missing
    rejected = [i for i in report["items"] if i["outcome"] == "rejected"]
    assert len(rejected) == missing
    assert all(i["reason"] == "accepted, then not in the group" for i in rejected)
    assert all(i["file"].startswith(str(photos)) for i in rejected)


def test_the_plain_summary_says_what_was_confirmed(tmp_path: Path) -> None:
    photos = _photos(tmp_path, 40)
    options = ("--reject-rate", "0.2", "--seed", "5")
    with fake_server_process(tmp_path, *options) as (_, details):
        env = clean_env(fake_env(details))
        args = ["enroll", str(photos), "--group", "G", "--create-group", "--journal", "a.sqlite"]
        confirmed = run_env([*args, "--confirm", "listing", "--confirm-wait", "0"], env, tmp_path)
        listed = len(_listed(details, "G"))
        plain = run_env(
            ["enroll", str(photos), "--group", "H", "--create-group", "--journal", "b.sqlite"],
            env,
            tmp_path,
        )
    out = confirmed.stdout + confirmed.stderr
    assert confirmed.returncode == 1
    said = [line for line in out.splitlines() if line.startswith("rejected: ")]
    assert len(said) == 40 - listed > 0
    assert all(line.endswith(".png: accepted, then not in the group") for line in said)
    assert "confirmed (listing)" in out
    assert f"{40 - listed} picture(s) were accepted, then rejected by the platform" in out
    assert "accepted to confirm" in out  # the progress line while they are held back
    unconfirmed_out = plain.stdout + plain.stderr
    assert plain.returncode == 0
    assert "40 (not confirmed: see --confirm)" in unconfirmed_out


def test_confirm_push_needs_the_journal_and_confirm_no_dry_run(tmp_path: Path) -> None:
    photos = _photos(tmp_path, 2)
    env = clean_env({"SUNMI_APP_ID": "x", "SUNMI_APP_KEY": "y", "SUNMI_SHOP_NO": "1"})
    base = ["enroll", str(photos), "--group", "G"]
    push = run_env([*base, "--confirm", "push", "--no-journal"], env, tmp_path)
    assert push.returncode == 2
    assert "--confirm push needs the journal" in push.stderr
    dry = run_env([*base, "--confirm", "listing", "--dry-run"], env, tmp_path)
    assert dry.returncode == 2
    assert "--confirm cannot be combined with --dry-run" in dry.stderr


def test_ctrl_c_while_confirming_prints_a_resume_command_that_confirms(tmp_path: Path) -> None:
    photos = _photos(tmp_path, 30)
    with fake_server_process(tmp_path, "--reject-rate", "0.2", "--seed", "4") as (_, details):
        env = clean_env(fake_env(details))
        args = [SUNMI_FACE, "enroll", str(photos), "--group", "G", "--create-group"]
        args += ["--journal", "j.sqlite", "--confirm", "listing", "--confirm-wait", "60"]
        process = spawn(args, env, tmp_path)
        try:
            assert process.stderr is not None
            seen = ""
            with AlarmDeadline(60):
                while "confirming: waiting" not in seen:
                    line = process.stderr.readline()
                    assert line, f"enroll ended before confirming: {seen}"
                    seen += line
            os.kill(process.pid, signal.SIGINT)
            _, rest = process.communicate(timeout=30)
        finally:
            stop(process)
        lines = (seen + rest).splitlines()
        hint = next(i for i, line in enumerate(lines) if "resume with" in line)
        again = shlex.split(lines[hint + 1].strip())
        assert again[again.index("--confirm") + 1] == "listing"
        assert again[again.index("--confirm-wait") + 1] == "60"
        # Run as printed (a shorter wait: the uploads are older than it by now).
        again[again.index("--confirm-wait") + 1] = "0"
        done = run_env([*again[1:], "--json"], env, tmp_path)
        listed = _listed(details, "G")
    report = json.loads(done.stdout)
    assert report["confirmation"]["rejected"] == 30 - len(listed)
    assert report["confirmation"]["confirmed"] == len(listed)


class AlarmDeadline:
    """A bounded wait around a blocking read (SIGALRM)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __enter__(self) -> None:
        signal.signal(signal.SIGALRM, self._expired)
        signal.alarm(int(self.seconds))

    def __exit__(self, *exc: object) -> None:
        signal.alarm(0)

    @staticmethod
    def _expired(*_: object) -> None:
        raise TimeoutError("no 'confirming' phase line within the deadline")
