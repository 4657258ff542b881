"""What the crash/resume tests share: manifests, subprocess control and journal checks."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import anyio
import anyio.abc
import pytest

from sunmi_face_async import Face
from sunmi_face_async.bulk import Journal, Status
from sunmi_face_async.testing import FakeCloudServer
from sunmi_face_async.testing.pictures import tiny_png

__all__ = [
    "ADD",
    "LIST",
    "RUN_TIMEOUT",
    "SLOT",
    "WORKER",
    "Worker",
    "check_done_rows_on_server",
    "journal_rows",
    "key",
    "requests",
    "server_env",
    "signal_process",
    "stop",
    "uploads",
    "wait_for_requests",
    "wait_for_uploads",
    "write_manifest",
]

WORKER = Path(__file__).with_name("_enroll_worker.py")
#: The customer_value slot that carries the external key.
SLOT = 1
#: Seconds any one subprocess run may take before the test fails.
RUN_TIMEOUT = 120.0
ADD = "/face/add"
LIST = "/face/group/getFaceList"


def key(index: int) -> str:
    return f"crash-{index:05d}"


def write_manifest(directory: Path, count: int) -> tuple[Path, dict[str, str]]:
    """A JSON Lines manifest of ``count`` distinct pictures; also the expected name per key."""
    pictures = directory / "pictures"
    pictures.mkdir()
    manifest = directory / "manifest.jsonl"
    expected: dict[str, str] = {}
    with manifest.open("w", encoding="utf-8") as out:
        for index in range(count):
            picture = pictures / f"{index:05d}.png"
            picture.write_bytes(tiny_png(index))
            name = expected[key(index)] = f"person {index}"
            row = {"picture": str(picture), "name": name, "external_key": key(index)}
            out.write(json.dumps(row) + "\n")
    return manifest, expected


def server_env(server: FakeCloudServer) -> dict[str, str]:
    """The environment a subprocess needs to talk to ``server`` (the key in env, not argv)."""
    env = dict(os.environ)
    env.update(
        SUNMI_APP_ID=server.app_id,
        SUNMI_APP_KEY=server.app_key,
        SUNMI_SHOP_NO=server.shop_no,
        SUNMI_BASE_URL=server.base_url,
    )
    env.pop("SUNMI_SHOP_ID", None)
    env.pop("SUNMI_APP_KEY_FILE", None)
    return env


async def requests(server: FakeCloudServer, endpoint: str = ADD) -> int:
    """How many requests to ``endpoint`` reached the fake so far."""
    stats = await server.stats()
    return int(stats["requests_by_endpoint"].get(endpoint, 0))


async def uploads(server: FakeCloudServer) -> int:
    """How many ``/face/add`` requests reached the fake so far."""
    return await requests(server, ADD)


async def wait_for_requests(
    server: FakeCloudServer,
    process: anyio.abc.Process,
    target: int,
    stderr: Path,
    *,
    endpoint: str = ADD,
    may_finish: bool = False,
) -> bool:
    """Poll the fake until ``target`` requests to ``endpoint`` reached it: True then.

    If the process ends first: False when ``may_finish``, else the test fails.
    """
    with anyio.fail_after(RUN_TIMEOUT):
        while await requests(server, endpoint) < target:
            if process.returncode is not None:
                if may_finish:
                    return False
                pytest.fail(
                    f"the process ended ({process.returncode}) before {target} requests to "
                    f"{endpoint}: " + stderr.read_text()
                )
            await anyio.sleep(0.005)
    return True


async def wait_for_uploads(
    server: FakeCloudServer, process: anyio.abc.Process, target: int, stderr: Path
) -> None:
    """Poll the fake until ``target`` uploads reached it; fail if the process ends first."""
    await wait_for_requests(server, process, target, stderr)


def signal_process(process: anyio.abc.Process, signum: int) -> None:
    """Send ``signum`` to ``process`` by its pid, unless it has been reaped already.

    ``os.kill`` rather than ``Popen.send_signal``: the latter first polls, which can reap a
    process that just exited behind asyncio's child watcher (which then reports 255). The
    watcher may have reaped it a moment before ``returncode`` is set: then it is gone.
    """
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signum)


async def stop(process: anyio.abc.Process) -> None:
    """Kill ``process`` (by its pid) if it still runs, and reap it."""
    signal_process(process, signal.SIGKILL)
    with anyio.CancelScope(shield=True):
        await process.wait()
        await process.aclose()


def journal_rows(path: Path) -> dict[str, tuple[str, str | None]]:
    """Check that the journal is an intact SQLite database; its (status, face_id) by key."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()
    with Journal(path) as journal:
        return {row.key: (row.status.value, row.face_id) for row in journal.rows()}


def check_done_rows_on_server(
    rows: Mapping[str, tuple[str, str | None]], faces: list[Face]
) -> None:
    """Every row the journal calls done is on the server, under its face_id and key."""
    on_server = {f.face_id: f.customer_value(SLOT) for f in faces}
    for item, (status, face_id) in rows.items():
        if status == Status.DONE.value:
            assert on_server.get(str(face_id)) == item, f"the journal says {item} is done"


class Worker:
    """Starts the enrollment worker for one job (same manifest, journal and report).

    ``settle`` must exceed the longest the fake can hold an upload (its latency plus
    scheduling); 1 s covers the crash tests' 40 ms with a wide margin.
    """

    def __init__(
        self,
        tmp: Path,
        manifest: Path,
        group_id: str,
        env: Mapping[str, str],
        *,
        concurrency: int = 8,
        settle: float = 1.0,
    ) -> None:
        self.env = dict(env)
        self.stderr = tmp / "worker.err"
        self.report = tmp / "report.json"
        self.journal = tmp / "job.db"
        self.command = [
            sys.executable,
            str(WORKER),
            "--manifest",
            str(manifest),
            "--group",
            group_id,
            "--journal",
            str(self.journal),
            "--report",
            str(self.report),
            "--slot",
            str(SLOT),
            "--concurrency",
            str(concurrency),
            "--settle",
            str(settle),
        ]

    async def start(self) -> anyio.abc.Process:
        with self.stderr.open("ab") as err:
            return await anyio.open_process(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=self.env,
            )
