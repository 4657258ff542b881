"""A SIGKILL while ``sunmi-face enroll --confirm listing`` waits to confirm, then a resume:
the same counts as the fake's own state (rejected = accepted faces it does not list), and no
picture is uploaded twice."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from sunmi_face_async.testing import FakeCloudServer
from sunmi_face_async.testing.pictures import tiny_png

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
        with err.open("wb") as stderr:
            first = await anyio.open_process(
                [*base, "--confirm-wait", "60"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=env,
            )
        try:
            with anyio.fail_after(RUN_TIMEOUT):
                # Every upload answered and recorded: the job now waits to confirm.
                while _done_in_journal(journal) < N:
                    assert first.returncode is None, err.read_text()
                    await anyio.sleep(0.05)
            await anyio.sleep(0.3)
            assert first.returncode is None  # still confirming (it waits 60 s)
            signal_process(first, signal.SIGKILL)
        finally:
            await stop(first)
        assert first.returncode == -signal.SIGKILL
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
