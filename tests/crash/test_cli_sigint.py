"""Ctrl-C during ``sunmi-face enroll`` (issue 7, part 2): exit 130, a consistent journal, a
message that says how to resume, and a resume (the printed command, run as printed) that
completes the job with every item on the server exactly once.
"""

from __future__ import annotations

import random
import shlex
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import anyio
import pytest

from sunmi_face_async.testing import FakeCloudServer

from ._helpers import (
    RUN_TIMEOUT,
    SLOT,
    check_done_rows_on_server,
    journal_rows,
    server_env,
    signal_process,
    stop,
    uploads,
    wait_for_uploads,
    write_manifest,
)

pytestmark = pytest.mark.slow

CLI = Path(sys.executable).with_name("sunmi-face")
# A short request timeout keeps the resumed run's wait for the interrupted run's uploads to
# settle (the timeout plus 5 s) short; the fake answers within 20 ms.
GLOBAL_FLAGS = ["--timeout", "1"]
CONCURRENCY = 8
SEEDS_SMALL = (5,)
SEEDS_FULL = (5, 6, 7)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "seed" in metafunc.fixturenames:
        full = metafunc.config.getoption("--full")
        metafunc.parametrize("seed", SEEDS_FULL if full else SEEDS_SMALL)


async def _run_cli(args: list[str], env: dict[str, str], out: Path, err: Path) -> anyio.abc.Process:
    with out.open("wb") as stdout, err.open("wb") as stderr:
        return await anyio.open_process(
            [str(CLI), *args], stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=env
        )


def _resume_command(stderr: str) -> list[str]:
    """The command the interrupt message tells the user to run (the line after 'resume')."""
    lines = stderr.splitlines()
    for number, line in enumerate(lines):
        if "resume with" in line and number + 1 < len(lines):
            return shlex.split(lines[number + 1].strip())
    pytest.fail(f"the interrupt message does not say how to resume:\n{stderr}")


async def test_sigint_during_enroll_keeps_the_journal_and_resume_completes(
    full_size: bool, seed: int, tmp_path: Path
) -> None:
    count = 400 if full_size else 200
    rng = random.Random(seed)
    manifest, expected = write_manifest(tmp_path, count)
    journal = tmp_path / "enroll.sqlite"
    out, err = tmp_path / "enroll.out", tmp_path / "enroll.err"

    async with FakeCloudServer(seed=seed, max_faces=count + 10) as server:
        async with server.client() as client:
            group = await client.groups.create("sigint", capacity=count)
        await server.set_faults(latency=0.01, jitter=0.01, endpoints=["/face/add"])
        env = server_env(server)
        args = [*GLOBAL_FLAGS, "enroll", str(manifest), "--group", group.group_id]
        args += ["--journal", str(journal)]
        args += ["--external-key-slot", str(SLOT), "--concurrency", str(CONCURRENCY)]

        process = await _run_cli(args, env, out, err)
        try:
            target = rng.randint(CONCURRENCY, count // 3)
            await wait_for_uploads(server, process, target, err)
            signal_process(process, signal.SIGINT)
            with anyio.fail_after(RUN_TIMEOUT):
                await process.wait()
        finally:
            await stop(process)
        message = err.read_text()
        assert process.returncode == 130, message
        assert "interrupted" in message
        assert server.app_key not in message + out.read_text()

        rows = journal_rows(journal)
        assert 0 < len(rows) < count, "the job was interrupted part way"
        faces = await server.faces_in(group.group_id)
        check_done_rows_on_server(rows, faces)
        # What was sent but not recorded done is marked in flight (or unknown), never lost.
        sent_keys = {f.customer_value(SLOT) for f in faces}
        recorded_done = {k for k, (status, _) in rows.items() if status == "done"}
        for item in sent_keys - recorded_done:
            assert rows[item][0] in ("in_flight", "unknown"), (item, rows[item])

        resume = _resume_command(message)
        # Complete: the global flags given as flags come first, the job's settings after.
        assert resume[: 2 + len(GLOBAL_FLAGS)] == ["sunmi-face", *GLOBAL_FLAGS, "enroll"]
        assert resume[resume.index("--concurrency") + 1] == str(CONCURRENCY)
        assert "--resume" in resume
        assert resume[resume.index("--journal") + 1] == str(journal)
        assert resume[resume.index("--external-key-slot") + 1] == str(SLOT)

        process = await _run_cli(resume[1:], env, out, err)  # as printed
        try:
            with anyio.fail_after(RUN_TIMEOUT):
                await process.wait()
        finally:
            await stop(process)
        assert process.returncode == 0, err.read_text()

        faces = await server.faces_in(group.group_id)
        keys = Counter(f.customer_value(SLOT) for f in faces)
        assert max(keys.values()) == 1, "no duplicates"
        assert sorted((f.customer_value(SLOT), f.name) for f in faces) == sorted(expected.items())
        rows = journal_rows(journal)
        assert {k for k, (status, _) in rows.items() if status == "done"} == set(expected)
        print(
            f"\ncli sigint seed={seed}: items={count} interrupted_after_uploads={target}+ "
            f"in_journal_at_interrupt={len(recorded_done)} done "
            f"uploads_sent={await uploads(server)} lost=0 duplicates=0\n"
            + message[message.index("interrupted") :]
        )
