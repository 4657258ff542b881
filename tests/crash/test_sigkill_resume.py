"""Crash and resume (issue 7, part 2): SIGKILL an enrollment, resume it, compare with a clean run.

A worker subprocess (``_enroll_worker.py``) enrolls a JSON Lines manifest into a
``FakeCloudServer`` subprocess over loopback, with a journal and the external key in
``customer_value1``. The fake delays uploads and listings (random latency) and drops 2 % of
them before or after applying them. For each seed the test kills the worker with SIGKILL
twice at random moments of the main pass (after a seeded, random number of uploads reached
the server, plus a random delay), once more as soon as its reconciliation pass starts
listing the group (that kill may come too late if the pass is short; the test says whether
it landed), then runs it to completion. After each kill the journal must be an intact SQLite
database whose DONE rows are all on the server; at the end the server must hold every item
exactly once with its own name: the state a clean run leaves (none missing, no duplicates).
"""

from __future__ import annotations

import json
import random
import signal
from collections import Counter
from pathlib import Path

import anyio
import anyio.abc
import pytest

from sunmi_face_async.testing import FakeCloudServer

from ._helpers import (
    ADD,
    LIST,
    RUN_TIMEOUT,
    SLOT,
    Worker,
    check_done_rows_on_server,
    journal_rows,
    requests,
    server_env,
    signal_process,
    stop,
    uploads,
    wait_for_requests,
    wait_for_uploads,
    write_manifest,
)

pytestmark = pytest.mark.slow

SMALL = {"items": 120, "seeds": (1, 2, 3)}
FULL = {"items": 600, "seeds": (1, 2, 3, 4, 5, 6, 7, 8)}
KILLS_PER_SEED = 2
FAULTS = {
    "latency": 0.02,
    "jitter": 0.02,
    "drop_rate": 0.02,
    "commit_then_timeout_rate": 0.02,
    "endpoints": [ADD, LIST],
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "seed" in metafunc.fixturenames:
        size = FULL if metafunc.config.getoption("--full") else SMALL
        metafunc.parametrize("seed", size["seeds"])


async def test_sigkill_at_random_moments_then_resume_equals_a_clean_run(
    full_size: bool, seed: int, tmp_path: Path
) -> None:
    count = int((FULL if full_size else SMALL)["items"])
    rng = random.Random(seed)
    manifest, expected = write_manifest(tmp_path, count)

    async with FakeCloudServer(seed=seed, max_faces=count + 10) as server:
        async with server.client() as client:
            group = await client.groups.create("crash", capacity=count)
        await server.set_faults(**FAULTS)
        worker = Worker(tmp_path, manifest, group.group_id, server_env(server))

        killed_after: list[int] = []
        for kill in range(KILLS_PER_SEED):
            before = await uploads(server)
            # The first kill lands in the first 40 % of the job, the second soon after the
            # restart, so both hit a running job with uploads in flight.
            span = count * 2 // 5 if kill == 0 else count // 5
            target = before + rng.randint(1, span)
            process = await worker.start()
            try:
                await wait_for_uploads(server, process, target, worker.stderr)
                await anyio.sleep(rng.uniform(0.0, 0.01))
                signal_process(process, signal.SIGKILL)
            finally:
                await stop(process)
            assert process.returncode == -signal.SIGKILL, worker.stderr.read_text()
            killed_after.append(await uploads(server))

            rows = journal_rows(worker.journal)
            check_done_rows_on_server(rows, await server.faces_in(group.group_id))
        assert not worker.report.exists()

        # The resumed run finds the items the last kill left in flight, so it reconciles:
        # kill it as soon as it lists the group.
        listings = await requests(server, LIST)
        process = await worker.start()
        try:
            landed = await wait_for_requests(
                server, process, listings + 1, worker.stderr, endpoint=LIST, may_finish=True
            )
            await anyio.sleep(rng.uniform(0.0, 0.01))
            signal_process(process, signal.SIGKILL)
        finally:
            await stop(process)
        landed = landed and process.returncode == -signal.SIGKILL
        if landed:
            check_done_rows_on_server(
                journal_rows(worker.journal), await server.faces_in(group.group_id)
            )
        else:
            assert process.returncode == 0, worker.stderr.read_text()

        process = await worker.start()
        try:
            with anyio.fail_after(RUN_TIMEOUT):
                await process.wait()
        finally:
            await stop(process)
        assert process.returncode == 0, worker.stderr.read_text()

        report = json.loads(worker.report.read_text())
        counts = report["counts"]
        assert counts["done"] + counts["skipped"] == count, report
        assert counts["failed"] == counts["unknown"] == counts["invalid"] == 0, report
        assert counts["duplicate"] == 0, report

        faces = await server.faces_in(group.group_id)
        keys = Counter(f.customer_value(SLOT) for f in faces)
        duplicates = sum(n - 1 for n in keys.values())
        missing = set(expected) - set(keys)
        assert duplicates == 0
        assert not missing
        assert sorted((f.customer_value(SLOT), f.name) for f in faces) == sorted(expected.items())
        rows = journal_rows(worker.journal)
        assert {key for key, (status, _) in rows.items() if status == "done"} == set(expected)
        stats = await server.stats()
        print(
            f"\ncrash seed={seed}: items={count} killed_after_uploads={killed_after} "
            f"reconcile_kill_landed={landed} "
            f"uploads_sent={stats['requests_by_endpoint'].get(ADD, 0)} "
            f"faults_injected={stats['faults_injected']} "
            f"resumed: done={counts['done']} skipped={counts['skipped']} "
            f"lost={len(missing)} duplicates={duplicates}"
        )
