"""Issue 11 case 7: files the CLI writes are whole or absent; contradictory options refused.

Ctrl-C during ``export --output big.csv`` leaves the old ``big.csv`` as it was (and no
temporary file); a finished export replaces it whole. ``export --format csv --json`` to
stdout is refused with one clear error instead of printing CSV where JSON was asked for.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from sunmi_face_async.testing.pictures import write_faces

from ._proc import SUNMI_FACE, TIMEOUT, Fake, clean_env, fake, run, stop

__all__ = ["fake"]

LIST = "/face/group/getFaceList"
OLD = "the previous export, whole\n"


def _wait_for(fake: Fake, endpoint: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while fake.requests(endpoint) == 0:
        assert process.poll() is None, "the export ended before it could be interrupted"
        assert time.monotonic() < deadline, f"no {endpoint} request within {TIMEOUT} s"
        time.sleep(0.02)


def test_ctrl_c_during_export_leaves_the_old_file_whole(fake: Fake, tmp_path: Path) -> None:
    write_faces(tmp_path / "pics", 250)
    args = ["enroll", "pics", "--group", "Big", "--create-group", "--concurrency", "16"]
    assert run(args, fake, tmp_path).returncode == 0
    big = tmp_path / "big.csv"
    big.write_text(OLD, encoding="utf-8")
    fake.set_faults(latency=0.5)  # three pages, one at a time: 1.5 s to interrupt in
    fake.reset_stats()
    export = ["export", "--group", "Big", "--format", "csv", "--output", "big.csv"]
    process = subprocess.Popen(
        [SUNMI_FACE, *export, "--concurrency", "1"],
        env=clean_env(fake.env),
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(fake, LIST, process)  # the first page is being fetched: the file is open
        os.kill(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=TIMEOUT)
    finally:
        stop(process)
    assert process.returncode == 130, err
    assert big.read_text(encoding="utf-8") == OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == [".sunmi-face", "big.csv", "pics"]

    fake.set_faults(latency=0.0)
    done = run(export, fake, tmp_path)
    assert done.returncode == 0, done.stderr
    lines = big.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 + 250
    assert sorted(p.name for p in tmp_path.iterdir()) == [".sunmi-face", "big.csv", "pics"]


def test_a_failed_export_leaves_no_file(fake: Fake, tmp_path: Path) -> None:
    result = run(["export", "--group", "NoSuchGroup", "--output", "out.jsonl"], fake, tmp_path)
    assert result.returncode == 2
    assert not list(tmp_path.iterdir()), "no file, not even an empty one"


def test_csv_with_json_on_stdout_is_refused(fake: Fake, tmp_path: Path) -> None:
    result = run(["export", "--group", "regular", "--format", "csv", "--json"], fake, tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "--json" in result.stderr
    assert "--output PATH" in result.stderr
    with_file = ["export", "--group", "regular", "--format", "csv", "--json", "-o", "r.csv"]
    summary = run(with_file, fake, tmp_path)
    assert summary.returncode == 0, summary.stderr
    assert summary.stdout.startswith('{"exported": 0')
    assert (tmp_path / "r.csv").read_text(encoding="utf-8").startswith("face_id,")
