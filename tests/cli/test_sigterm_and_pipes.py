"""SIGTERM is handled like Ctrl-C; a stdout closed early (``| head``) ends quietly.

``kill -TERM`` during ``enroll`` prints the resume command and exits 143 (128 + SIGTERM);
during ``export --output`` it leaves the old file whole and no temporary file. When the
reader of stdout goes away, every command that writes there exits 141 (128 + SIGPIPE, what a
shell shows for Unix tools killed by it) with nothing on stderr: no traceback.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest

from sunmi_face_async.testing.pictures import write_faces

from ._proc import SUNMI_FACE, TIMEOUT, Fake, clean_env, fake, run, stop

__all__ = ["fake"]

ADD = "/face/add"
LIST = "/face/group/getFaceList"


def _start(fake: Fake, cwd: Path, args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [SUNMI_FACE, *args],
        env=clean_env(fake.env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(fake: Fake, endpoint: str, count: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while fake.requests(endpoint) < count:
        assert process.poll() is None, "the command ended before it could be stopped"
        assert time.monotonic() < deadline, f"fewer than {count} {endpoint} within {TIMEOUT} s"
        time.sleep(0.02)


def test_sigterm_during_enroll_prints_the_resume_command_and_exits_143(
    fake: Fake, tmp_path: Path
) -> None:
    write_faces(tmp_path / "pics", 40)
    fake.set_faults(latency=0.2)
    # An external key, so the resumed run resolves the uploads cut off by itself.
    args = ["enroll", "pics", "--group", "T", "--create-group", "--external-key-slot", "1"]
    # A short attempt limit: the resume then waits seconds, not 35 s, for the uploads left
    # in flight to settle.
    process = _start(fake, tmp_path, ["--timeout", "2", *args])
    try:
        _wait_for(fake, ADD, 4, process)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=TIMEOUT)
    finally:
        stop(process)
    assert process.returncode == 143, err
    assert "error: terminated (SIGTERM)" in err
    lines = err.splitlines()
    printed = lines[lines.index("items in flight are recorded in the journal; resume with:") + 1]
    command = shlex.split(printed)
    assert command[0] == "sunmi-face"
    assert "--resume" in command
    fake.set_faults(latency=0.0)
    resumed = run(command[1:], fake, tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    names = sorted(face["name"] for face in fake.faces_in("T"))
    assert names == sorted(p.stem for p in (tmp_path / "pics").iterdir())  # each once


def test_sigterm_during_export_leaves_the_old_file_and_no_temporary(
    fake: Fake, tmp_path: Path
) -> None:
    write_faces(tmp_path / "pics", 120)
    assert run(["enroll", "pics", "--group", "T", "--create-group"], fake, tmp_path).returncode == 0
    out = tmp_path / "out.csv"
    out.write_text("old\n", encoding="utf-8")
    fake.set_faults(latency=0.5)
    fake.reset_stats()
    args = ["export", "--group", "T", "--format", "csv", "--output", "out.csv"]
    process = _start(fake, tmp_path, [*args, "--concurrency", "1"])
    try:
        _wait_for(fake, LIST, 1, process)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=TIMEOUT)
    finally:
        stop(process)
    assert process.returncode == 143, err
    assert "error: terminated (SIGTERM)" in err
    assert out.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".sunmi-face", "out.csv", "pics"]


def _closed_reader(fake: Fake, cwd: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    """``sunmi-face ARGS`` whose stdout is a pipe nobody reads any more."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [SUNMI_FACE, *args],
            env=clean_env(fake.env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    "args",
    [
        ["export", "--group", "T", "--format", "csv"],
        ["export", "--group", "T"],
        ["groups", "list"],
        ["groups", "list", "--json"],
        ["faces", "list", "--group", "T"],
        ["faces", "list", "--group", "T", "--json"],
    ],
    ids=" ".join,
)
def test_a_closed_stdout_ends_quietly_with_141(fake: Fake, tmp_path: Path, args: list[str]) -> None:
    write_faces(tmp_path / "pics", 3)
    assert run(["enroll", "pics", "--group", "T", "--create-group"], fake, tmp_path).returncode == 0
    result = _closed_reader(fake, tmp_path, args)
    assert result.returncode == 141, result.stderr
    assert "Traceback" not in result.stderr
    assert "Error" not in result.stderr


def test_export_piped_to_head_ends_quietly(fake: Fake, tmp_path: Path) -> None:
    # The reader takes one line, then goes away while pages are still being fetched.
    write_faces(tmp_path / "pics", 300)
    enroll = ["enroll", "pics", "--group", "T", "--create-group", "--concurrency", "32"]
    assert run(enroll, fake, tmp_path).returncode == 0
    fake.set_faults(latency=0.05)
    process = _start(fake, tmp_path, ["export", "--group", "T", "--format", "csv"])
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("face_id,")
        process.stdout.close()
        _, err = process.communicate(timeout=TIMEOUT)
    finally:
        stop(process)
    assert process.returncode == 141, err
    assert "Traceback" not in err
