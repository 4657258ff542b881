"""Crash and resume when the server is slow: the uploads a killed run had in flight can still
be applied after the resumed run started. Reconciling them at once would find them absent,
send them again and leave duplicates; the resumed run must wait until they have settled.

The fake takes 3 s per upload; the worker sends 8 items (all in flight at once), is killed
with SIGKILL as soon as they reached the server, and is resumed at once with ``settle=4``.
The server must end with each of the 8 keys exactly once. (Before 6116037 the resumed run
reported all 8 DONE and the server held 16 faces.)
"""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

import anyio
import pytest

from sunmi_face_async.testing import FakeCloudServer

from ._helpers import (
    ADD,
    RUN_TIMEOUT,
    SLOT,
    Worker,
    server_env,
    signal_process,
    stop,
    wait_for_uploads,
    write_manifest,
)

pytestmark = pytest.mark.slow

COUNT = 8
LATENCY = 3.0


async def test_resume_does_not_resend_uploads_the_killed_run_still_has_in_flight(
    tmp_path: Path,
) -> None:
    manifest, expected = write_manifest(tmp_path, COUNT)
    async with FakeCloudServer(seed=1, max_faces=100) as server:
        async with server.client() as client:
            group = await client.groups.create("race", capacity=100)
        await server.set_faults(latency=LATENCY, endpoints=[ADD])
        env = server_env(server)
        worker = Worker(
            tmp_path, manifest, group.group_id, env, concurrency=COUNT, settle=LATENCY + 1.0
        )
        process = await worker.start()
        try:
            await wait_for_uploads(server, process, COUNT, worker.stderr)
            signal_process(process, signal.SIGKILL)
        finally:
            await stop(process)
        assert process.returncode == -signal.SIGKILL

        process = await worker.start()
        try:
            with anyio.fail_after(RUN_TIMEOUT):
                await process.wait()
        finally:
            await stop(process)
        assert process.returncode == 0, worker.stderr.read_text()
        with anyio.fail_after(RUN_TIMEOUT):  # let every upload the server still holds land
            while (await server.stats())["in_flight"] > 0:
                await anyio.sleep(0.05)

        faces = await server.faces_in(group.group_id)
        keys = Counter(f.customer_value(SLOT) for f in faces)
        duplicates = sorted(k for k, n in keys.items() if n > 1)
        assert not duplicates
        assert keys == Counter(list(expected))
        stats = await server.stats()
        print(
            f"\nslow-server resume: items={COUNT} "
            f"uploads_sent={stats['requests_by_endpoint'][ADD]} duplicates={len(duplicates)}"
        )
