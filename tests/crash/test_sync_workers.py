"""Four sync workers over one manifest and one fake server over HTTP, two of them SIGKILLed
midway and restarted: every key ends on the server exactly once, with its attributes.

Each worker is this module run with ``python -m`` (``--worker``): ``bulk.sync`` with ``--shard k/4``
and its own journal (a journal belongs to one process). The fake (``FakeCloudServer``, a
uvicorn subprocess) adds latency so the kills land while requests are in flight; some keys
start on the server with another name (update) or in another group (move).
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import pytest

from sunmi_face_async import AsyncSunmiFace
from sunmi_face_async.testing import FakeCloudServer
from sunmi_face_async.testing.pictures import tiny_png

from ._helpers import RUN_TIMEOUT, requests, server_env, signal_process, stop

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ROWS = 400
WORKERS = 4
SLOT = 1
ADD = "/face/add"


def _key(i: int) -> str:
    return f"emp-{i:04d}"


def _write_manifest(tmp: Path) -> Path:
    pictures = tmp / "pictures"
    pictures.mkdir()
    manifest = tmp / "staff.jsonl"
    with manifest.open("w", encoding="utf-8") as out:
        for i in range(ROWS):
            picture = pictures / f"{i}.png"
            picture.write_bytes(tiny_png(i))
            row = {"picture": str(picture), "name": f"person {i}", "gender": 1 + i % 2}
            out.write(json.dumps({**row, "external_key": _key(i)}) + "\n")
    return manifest


async def _start(tmp: Path, manifest: Path, group: str, k: int, env: dict[str, str]) -> Any:
    argv = [
        sys.executable,
        "-m",
        "tests.crash.test_sync_workers",
        "--worker",
        str(k),
        "--manifest",
        str(manifest),
    ]
    argv += ["--group", group, "--journal", str(tmp / f"sync-{k}.sqlite")]
    argv += ["--report", str(tmp / f"report-{k}.json")]
    with (tmp / f"worker-{k}.err").open("ab") as err:
        return await anyio.open_process(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env,
            cwd=ROOT,
        )


async def test_four_workers_two_killed_and_restarted_converge_to_the_manifest(
    tmp_path: Path,
) -> None:
    manifest = _write_manifest(tmp_path)
    async with FakeCloudServer(seed=5, max_faces=2 * ROWS) as server:
        async with server.client() as client:
            group = (await client.groups.create("staff", capacity=2 * ROWS)).group_id
            other = (await client.groups.create("old", capacity=ROWS)).group_id
            for i in range(0, 60, 3):  # wrong name / wrong group: update and move
                await client.faces.add(
                    other if i % 2 else group,
                    pic=tiny_png(i),
                    name="stale",
                    customer_values=[_key(i)],
                )
        await server.set_faults(latency=0.03, endpoints=[ADD, "/face/update"])
        env = server_env(server)
        before = await requests(server, ADD)
        workers = [await _start(tmp_path, manifest, group, k, env) for k in range(WORKERS)]
        try:
            # Kill two of them once a quarter of the adds reached the server.
            with anyio.fail_after(RUN_TIMEOUT):
                while await requests(server, ADD) < before + ROWS // 4:
                    assert all(w.returncode is None for w in workers[:2]), "ended too soon"
                    await anyio.sleep(0.005)
            for victim in workers[:2]:
                signal_process(victim, signal.SIGKILL)
            for victim in workers[:2]:
                await stop(victim)
            killed = [w.returncode for w in workers[:2]]
            workers[:2] = [await _start(tmp_path, manifest, group, k, env) for k in range(2)]
            with anyio.fail_after(RUN_TIMEOUT):
                for worker in workers:
                    await worker.wait()
        finally:
            for worker in workers:
                await stop(worker)
        errors = [(tmp_path / f"worker-{k}.err").read_text() for k in range(WORKERS)]
        assert killed == [-signal.SIGKILL, -signal.SIGKILL]
        assert [w.returncode for w in workers] == [0] * WORKERS, errors

        faces = await server.faces_in(group)
        assert await server.faces_in(other) == []
        keys = Counter(f.customer_value(SLOT) for f in faces)
        assert keys == Counter(_key(i) for i in range(ROWS))  # each exactly once
        got = {f.customer_value(SLOT): (f.name, int(f.gender or 0)) for f in faces}
        assert got == {_key(i): (f"person {i}", 1 + i % 2) for i in range(ROWS)}
        reports = [json.loads((tmp_path / f"report-{k}.json").read_text()) for k in range(4)]
        assert (
            sum(r["outcomes"].get("failed", 0) + r["outcomes"].get("unknown", 0) for r in reports)
            == 0
        )


# -- the worker ------------------------------------------------------------------------------


async def _work(args: argparse.Namespace) -> int:
    from sunmi_face_async.bulk import read_manifest, sync

    async with AsyncSunmiFace.from_env(timeout=10) as client:
        report = await sync(
            client,
            read_manifest(args.manifest, group_id=args.group),
            external_key_slot=SLOT,
            journal=args.journal,
            shard=(args.worker, WORKERS),
            concurrency=4,
            settle=1.0,  # longer than the fake holds a request (its 30 ms latency)
            groups=[args.group],
        )
    Path(args.report).write_text(json.dumps(report.as_dict()), encoding="utf-8")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    for name in ("--manifest", "--group", "--journal", "--report"):
        parser.add_argument(name, required=True)
    parser.add_argument("--worker", type=int, required=True)
    sys.exit(anyio.run(_work, parser.parse_args()))
