"""Progress shows what it is doing (issue 11, case 4): phases on the bar, the shard's own
total, and a live bar on a terminal's stderr while stdout goes to a file. Real processes
against the fake cloud over HTTP; the terminal is a real pseudo-terminal."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import anyio

from sunmi_face_async.testing import FakeCloudServer
from sunmi_face_async.testing.pictures import write_faces

from ._proc import run_env, server_env

SUNMI_FACE = str(Path(sys.executable).with_name("sunmi-face"))
TIMEOUT = 90
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _env(server: FakeCloudServer) -> dict[str, str]:
    env = server_env(server)
    env.update(COLUMNS="220", TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    return env


def _on_a_terminal(
    args: list[str], env: dict[str, str], cwd: Path, stdout: Path
) -> tuple[int, str]:
    """Run with stderr on a pseudo-terminal and stdout to a file: (exit code, terminal text)."""
    master, slave = os.openpty()
    chunks: list[bytes] = []

    def read() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # the other end closed
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    with stdout.open("wb") as out:
        process = subprocess.Popen(
            [SUNMI_FACE, *args],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=slave,
        )
        os.close(slave)
        try:
            code = process.wait(timeout=TIMEOUT)
        finally:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
    reader.join(timeout=10)
    os.close(master)
    return code, b"".join(chunks).decode("utf-8", "replace")


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_env(args, env, cwd, timeout=TIMEOUT)


async def test_export_to_a_file_shows_the_live_bar_on_a_terminal_stderr(tmp_path: Path) -> None:
    write_faces(tmp_path / "photos", 40)
    async with FakeCloudServer(seed=4) as server:
        env = _env(server)
        enrolled = _run(["enroll", "photos", "--group", "G", "--create-group"], env, tmp_path)
        assert enrolled.returncode == 0, enrolled.stderr
        code, screen = _on_a_terminal(
            ["export", "--group", "G"], env, tmp_path, tmp_path / "f.jsonl"
        )
    assert code == 0, screen
    text = ANSI.sub("", screen)
    assert "━" in text, screen  # rich's bar (before: plain "export: 40/40 (...)" lines)
    assert "export: 40/40 (" not in text
    assert "exported 40 faces" in text
    assert len((tmp_path / "f.jsonl").read_text().splitlines()) == 40


async def test_with_a_shard_the_total_is_the_shards(tmp_path: Path) -> None:
    pictures = write_faces(tmp_path / "photos", 60)
    async with FakeCloudServer(seed=5) as server:
        env = _env(server)
        args = ["--json", "enroll", "photos", "--group", "G", "--create-group", "--shard", "0/2"]
        result = _run(args, env, tmp_path)
        assert result.returncode == 0, result.stderr
        async with server.client() as client:
            [group] = [g for g in await client.groups.list() if g.name == "G"]
        taken = len(await server.faces_in(group.group_id))
    assert 0 < taken < len(pictures)
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"enroll: {taken}/{taken} ("), last  # before: taken/60


async def test_the_resume_shows_that_it_waits_then_reconciles(tmp_path: Path) -> None:
    write_faces(tmp_path / "photos", 80)
    journal = tmp_path / "job.sqlite"
    async with FakeCloudServer(seed=6) as server:
        env = _env(server)
        async with server.client() as client:
            group = await client.groups.create("G")
        await server.set_faults(latency=0.3, endpoints=["/face/add"])
        args = ["--timeout", "1", "enroll", "photos", "--group", group.group_id]
        args += ["--journal", str(journal), "--external-key-slot", "1", "--concurrency", "8"]
        killed = subprocess.Popen(
            [SUNMI_FACE, *args],
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            with anyio.fail_after(TIMEOUT):
                while len(await server.faces_in(group.group_id)) < 16:
                    await anyio.sleep(0.05)
        finally:
            os.kill(killed.pid, signal.SIGKILL)  # uploads in flight stay in flight
            killed.wait()
        await server.set_faults(latency=0.0)
        started = time.monotonic()
        code, screen = _on_a_terminal([*args, "--resume"], env, tmp_path, tmp_path / "out.txt")
        took = time.monotonic() - started
    assert code == 0, screen
    text = ANSI.sub("", screen)
    waiting = re.search(r"waiting (\d+) s for uploads in flight to settle", text)
    assert waiting is not None, text[-3000:]
    assert 0 <= int(waiting[1]) <= 6
    assert re.search(r"reconciling \d+", text), text[-3000:]
    assert took < 6 + 30  # the wait is bounded by the timeout plus 5 s, and then it ends


async def test_throttled_uploads_are_shown_as_retrying(tmp_path: Path) -> None:
    write_faces(tmp_path / "photos", 40)
    async with FakeCloudServer(seed=7) as server:
        env = _env(server)
        async with server.client() as client:
            group = await client.groups.create("G")
        await server.set_faults(throttle_rate=0.7, retry_after=0, endpoints=["/face/add"])
        result = _run(["enroll", "photos", "--group", group.group_id], env, tmp_path)
    assert re.search(r" - retrying \d+ throttled", result.stderr), result.stderr
