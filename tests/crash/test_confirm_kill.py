"""A SIGKILL while ``sunmi-face enroll --confirm listing`` waits to confirm, then a resume:
the same counts as the fake's own state (rejected = accepted faces it does not list), and no
picture is uploaded twice."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import uvicorn

from sunmi_face_async.bulk import confirmation_handler
from sunmi_face_async.testing import FAKE_FACE_ADDED_EVENT, FakeCloudServer, FakeSunmiCloud
from sunmi_face_async.testing.pictures import tiny_png
from sunmi_face_async.webhook import callback_app

from ._helpers import RUN_TIMEOUT, server_env, signal_process, stop, uploads

pytestmark = pytest.mark.slow

CLI = Path(sys.executable).with_name("sunmi-face")
N = 500


def _done_in_journal(path: Path) -> int:
    if not path.exists():
        return 0
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM items WHERE status = 'done'").fetchone()[0])
    except sqlite3.OperationalError:  # the tables are not made yet
        return 0
    finally:
        conn.close()


async def _kill_while_confirming(
    argv: list[str], env: dict[str, str], journal: Path, err: Path, count: int
) -> None:
    """Run ``argv`` until ``count`` items are done in its journal (every upload answered: it
    now waits to confirm), check it is still waiting, then SIGKILL it."""
    with err.open("wb") as stderr:
        first = await anyio.open_process(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, env=env
        )
    try:
        with anyio.fail_after(RUN_TIMEOUT):
            while _done_in_journal(journal) < count:
                assert first.returncode is None, err.read_text()
                await anyio.sleep(0.05)
        await anyio.sleep(0.3)
        assert first.returncode is None  # still confirming (it waits 60 s)
        signal_process(first, signal.SIGKILL)
    finally:
        await stop(first)
    assert first.returncode == -signal.SIGKILL


async def test_sigkill_during_confirmation_then_resume_gives_the_fakes_counts(
    tmp_path: Path,
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(N):
        (photos / f"{i:04d}.png").write_bytes(tiny_png(i))
    journal = tmp_path / "job.sqlite"
    server = FakeCloudServer(seed=13, reject_rate=0.1, processing_delay=0.2)
    async with server, server.client() as client:
        group = await client.groups.create("G", capacity=5000)
        env = server_env(server)
        base = [str(CLI), "--timeout", "2", "enroll", str(photos), "--group", "G"]
        base += ["--journal", str(journal), "--confirm", "listing"]
        err = tmp_path / "first.err"
        await _kill_while_confirming([*base, "--confirm-wait", "60"], env, journal, err, N)
        assert "confirming" in err.read_text()
        assert await uploads(server) == N
        again = await anyio.run_process(
            [*base, "--resume", "--confirm-wait", "0.5", "--json"],
            env=env,
            check=False,
        )
        listed = {f.face_id for f in await server.faces_in(group.group_id)}
        sent = await uploads(server)
    assert again.returncode == 1, again.stderr.decode()  # some were rejected
    report = json.loads(again.stdout)
    missing = N - len(listed)
    assert 20 < missing < 90
    assert sent == N  # the resume uploaded nothing again
    assert report["confirmation"] == {
        "mode": "listing",
        "accepted": N,
        "confirmed": len(listed),
        "rejected": missing,
        "unconfirmed": 0,
    }
    assert report["counts"]["skipped"] == len(listed)  # done by the killed run, confirmed now
    assert report["counts"]["rejected"] == missing


class Gate:
    """A push receiver that is down (503) until ``open``: pushes wait in the fake's retries."""

    def __init__(self, app: Any) -> None:
        self.app, self.open, self.refused = app, False, 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not self.open:
            self.refused += 1
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b"down"})
            return
        await self.app(scope, receive, send)


@contextlib.asynccontextmanager
async def _serve(app: Any) -> AsyncIterator[str]:
    """``app`` under uvicorn on a free loopback port in this loop; its URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    try:
        with anyio.fail_after(10):
            while not server.started:
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        with anyio.fail_after(10):
            await task


async def test_sigkill_while_waiting_for_pushes_then_resume_confirms_from_the_pushes(
    tmp_path: Path,
) -> None:
    n = 200
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(n):
        (photos / f"{i:04d}.png").write_bytes(tiny_png(i))
    journal = tmp_path / "job.sqlite"
    cloud = FakeSunmiCloud(
        seed=21,
        reject_rate=0.1,
        processing_delay=0.1,
        push_on_add=True,
        push_retry_delays=(1, 1, 2, 2, 4, 8, 16),
    )
    gate = Gate(callback_app(confirmation_handler(journal), cloud.app_key))
    async with _serve(gate) as hook_url, _serve(cloud.app) as fake_url:
        async with cloud.client(base_url=fake_url + "/openapi", transport=None) as client:
            await client.hooks.add(hook_url + "/push", [FAKE_FACE_ADDED_EVENT])
            group = await client.groups.create("G", capacity=5000)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SUNMI_")}
        env.update(
            SUNMI_APP_ID=cloud.app_id,
            SUNMI_APP_KEY=cloud.app_key,
            SUNMI_SHOP_NO=cloud.shop_no,
            SUNMI_BASE_URL=fake_url + "/openapi",
        )
        base = [str(CLI), "--timeout", "2", "enroll", str(photos), "--group", group.group_id]
        base += ["--journal", str(journal), "--confirm", "push"]
        err = tmp_path / "first.err"
        await _kill_while_confirming([*base, "--confirm-wait", "60"], env, journal, err, n)
        assert gate.refused > 0
        gate.open = True  # the receiver is back: the fake's retries now land
        again = await anyio.run_process(
            [*base, "--resume", "--confirm-wait", "60", "--json"], env=env, check=False
        )
    listed = {f.face_id for f in cloud.faces_in(group.group_id)}
    assert again.returncode == 1, again.stderr.decode()
    report = json.loads(again.stdout)
    assert cloud.stats.requests_by_endpoint["/face/add"] == n  # nothing uploaded again
    assert report["confirmation"] == {
        "mode": "push",
        "accepted": n,
        "confirmed": len(listed),
        "rejected": len(cloud.processing.rejected),
        "unconfirmed": 0,
    }
    assert len(listed) + len(cloud.processing.rejected) == n
    assert report["counts"]["rejected"] == len(cloud.processing.rejected) > 5
