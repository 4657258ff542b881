"""``sunmi-face verify JOURNAL``: the done items of a job whose faces are not in their group,
counted against what the fake lists (``--reject-rate`` refuses some after accepting them)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx

from sunmi_face_async.testing.pictures import tiny_png

from ._proc import clean_env, fake_env, fake_server_process, run_env

N = 120


def _listed(details: dict[str, str], group_name: str) -> set[str]:
    admin = details["base_url"].rsplit("/openapi", 1)[0] + "/_fake"
    groups = {g["group_name"]: g for g in httpx.get(admin + "/groups", timeout=10).json()}
    faces = httpx.get(admin + f"/faces?group_id={groups[group_name]['group_id']}", timeout=10)
    return {f["face_id"] for f in faces.json()}


def _done_rows(journal: Path) -> dict[str, str]:
    conn = sqlite3.connect(journal)
    try:
        rows = conn.execute("SELECT face_id, picture FROM items WHERE status = 'done'")
        return dict(rows.fetchall())
    finally:
        conn.close()


def test_verify_names_exactly_the_done_items_missing_from_the_group(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(N):
        (photos / f"{i:04d}.png").write_bytes(tiny_png(i))
    with fake_server_process(tmp_path, "--reject-rate", "0.1", "--seed", "9") as (_, details):
        env = clean_env(fake_env(details))
        enrolled = run_env(
            ["enroll", str(photos), "--group", "G", "--create-group", "--journal", "j.sqlite"],
            env,
            tmp_path,
        )
        assert enrolled.returncode == 0, enrolled.stderr  # without --confirm: all "done"
        as_json = run_env(["verify", "j.sqlite", "--json"], env, tmp_path)
        plain = run_env(["verify", "j.sqlite"], env, tmp_path)
        listed = _listed(details, "G")
    done = _done_rows(tmp_path / "j.sqlite")
    assert len(done) == N
    expected_missing = {
        face_id: picture for face_id, picture in done.items() if face_id not in listed
    }
    assert 3 < len(expected_missing) < 30
    assert as_json.returncode == plain.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["counts"] == {
        "done": N,
        "present": N - len(expected_missing),
        "missing": len(expected_missing),
        "unchecked": 0,
        "rejected": 0,
    }
    assert {m["face_id"]: m["file"] for m in report["missing"]} == expected_missing
    lines = [line for line in plain.stderr.splitlines() if line.startswith("missing: ")]
    assert sorted(lines) == sorted(
        f"missing: {picture}: face {face_id} is not in group {report['groups'][0]}"
        for face_id, picture in expected_missing.items()
    )


def test_verify_of_a_complete_job_exits_0(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(5):
        (photos / f"{i}.png").write_bytes(tiny_png(i))
    with fake_server_process(tmp_path) as (_, details):
        env = clean_env(fake_env(details))
        run_env(
            ["enroll", str(photos), "--group", "G", "--create-group", "--journal", "j.sqlite"],
            env,
            tmp_path,
        )
        done = run_env(["verify", "j.sqlite", "--json"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["counts"]["present"] == 5


def test_verify_of_a_missing_journal_names_it(tmp_path: Path) -> None:
    env = clean_env({"SUNMI_APP_ID": "x", "SUNMI_APP_KEY": "y", "SUNMI_SHOP_NO": "1"})
    done = run_env(["verify", "nowhere.sqlite"], env, tmp_path)
    assert done.returncode != 0
    assert "nowhere.sqlite" in done.stderr
    assert "Traceback" not in done.stderr
