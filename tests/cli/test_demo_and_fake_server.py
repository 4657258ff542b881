"""Real processes: ``sunmi-face demo``, and ``enroll`` against ``sunmi-face fake-server``.

Every process is started here and stopped here, by pid.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from sunmi_face_async.testing.pictures import write_faces

from ._proc import fake_env, fake_server_process, spawn, stop

CLI = [sys.executable, "-m", "sunmi_face_async.cli"]
TIMEOUT = 60


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUNMI_")}
    env.update(extra or {})
    return env


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        CLI + args, env=env, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


@pytest.fixture
def fake_server(tmp_path: Path) -> Iterator[dict[str, str]]:
    """``sunmi-face fake-server --port 0``; yields the SUNMI_* variables it printed."""
    with fake_server_process(tmp_path, "--latency", "0.05") as (process, details):
        yield fake_env(details)
    assert process.returncode == 0


def test_demo_runs_clean(tmp_path: Path) -> None:
    result = run(["demo", "--count", "120", "--json"], _env(), tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["duplicates_on_server"] == 0
    assert summary["faces_on_server"] == 120
    assert (summary["moved"], summary["deleted"]) == (60, 40)
    assert summary["ok"] is True
    assert "enroll pass 1: 120/120" in result.stderr
    assert "Traceback" not in result.stderr


def test_enroll_a_folder_against_the_fake_server(
    fake_server: dict[str, str], tmp_path: Path
) -> None:
    write_faces(tmp_path / "pics", 30)
    env = _env(fake_server)
    enrolled = run(["enroll", "pics", "--group", "Staff", "--create-group"], env, tmp_path)
    assert enrolled.returncode == 0, enrolled.stderr
    assert "enroll: 30/30 (30 done, 0 failed)" in enrolled.stderr

    exported = run(["export", "--group", "Staff"], env, tmp_path)
    assert exported.returncode == 0, exported.stderr
    names = Counter(json.loads(line)["name"] for line in exported.stdout.splitlines())
    assert names == Counter(f"face-{i:05d}" for i in range(30))
    assert fake_server["SUNMI_APP_KEY"] not in enrolled.stdout + enrolled.stderr


def test_ctrl_c_stops_cleanly_and_resume_finishes_without_duplicates(
    fake_server: dict[str, str], tmp_path: Path
) -> None:
    write_faces(tmp_path / "pics", 40)
    env = _env(fake_server)
    args = ["enroll", "pics", "-g", "Staff", "--create-group", "--concurrency", "2"]
    args += ["--external-key-slot", "1"]
    # A short attempt limit, so the resume waits seconds, not 35 s, for the uploads the
    # interrupted run left in flight (they cannot land later than that limit plus 5 s).
    process = spawn([*CLI, "--timeout", "2", *args], env, tmp_path)
    try:
        assert process.stderr is not None
        created = process.stderr.readline()  # --create-group says that it created the group
        assert created.startswith("created group Staff (")
        first = process.stderr.readline()  # the first progress line: uploads are under way
        assert first.startswith("enroll: ")
        os.kill(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=TIMEOUT)
    finally:
        stop(process)
    assert process.returncode == 130, err
    assert "error: interrupted" in err
    assert "--resume" in err
    assert "Traceback" not in err

    resumed = run(["--timeout", "2", *args, "--resume", "--json"], env, tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    exported = run(["export", "--group", "Staff"], env, tmp_path)
    keys = Counter(json.loads(line)["customer_values"][0] for line in exported.stdout.splitlines())
    assert keys == Counter(f"face-{i:05d}" for i in range(40))
