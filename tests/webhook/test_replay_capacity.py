"""callback_app at its replay cache's limit: no replay is ever handled twice.

Receivers run under uvicorn on loopback: in this process for the in-memory cache, and as two
worker processes sharing one SqliteReplayCache file (plus a restart) for the durable one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import uvicorn

from sunmi_face_async.webhook import PushEvent, ReplayCache, SqliteReplayCache, callback_app

APP_KEY = "TESTSECRET0123456789"
NOW = 1_700_000_000
#: callback_app remembers a handled event for max(timestamp + 300 s window, now + 900 s).
REMEMBERED_FOR = 900
HERE = Path(__file__).resolve().parent
MakeForm = Callable[..., dict[str, str]]


class Runs:
    """A handler that counts its runs per push_id."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    async def __call__(self, event: PushEvent) -> None:
        self.counts[event.payload["push_id"]] += 1


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """Run ``app`` under uvicorn on a free loopback port; yield a client for it."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    try:
        with anyio.fail_after(10):
            while not server.started:
                await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield client
    finally:
        server.should_exit = True
        with anyio.fail_after(10):
            await task


def event_form(make_form: MakeForm, push_id: str, **kwargs: Any) -> dict[str, str]:
    return make_form(payload={"push_id": push_id}, **kwargs)


async def test_full_memory_cache_refuses_new_events_and_never_handles_a_replay_twice(
    make_form: MakeForm,
) -> None:
    runs = Runs()
    clock = [float(NOW)]
    app = callback_app(runs, APP_KEY, cache=ReplayCache(100), clock=lambda: clock[0])
    victim = event_form(make_form, "victim")
    async with serve(app) as client:
        statuses = [(await client.post("/push", data=victim)).status_code]
        for i in range(99):
            response = await client.post("/push", data=event_form(make_form, f"fill-{i}"))
            statuses.append(response.status_code)
        assert statuses == [200] * 100
        # The 101st distinct event: not handled, SUNMI is told to come back.
        refused = await client.post("/push", data=event_form(make_form, "new"))
        # The exact replay and a re-signed retry of the first event, after that refusal.
        replay = await client.post("/push", data=victim)
        resigned = await client.post(
            "/push", data=event_form(make_form, "victim", random="Retry456", timestamp=NOW + 15)
        )
        # Once the first entries expire, the new event gets in.
        clock[0] = NOW + REMEMBERED_FOR + 1
        later = await client.post(
            "/push", data=event_form(make_form, "new", timestamp=NOW + REMEMBERED_FOR + 1)
        )
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == str(REMEMBERED_FOR)
    assert refused.json() == {"status": "retry_later", "reason": "replay_cache_full"}
    assert (replay.status_code, replay.json()) == (200, {"status": "duplicate"})
    assert (resigned.status_code, resigned.json()) == (200, {"status": "duplicate"})
    assert (later.status_code, later.json()) == (200, {"status": "processed"})
    assert runs.counts["victim"] == 1
    assert runs.counts["new"] == 1
    assert sum(runs.counts.values()) == 101


async def test_default_cache_at_100000_entries_refuses_and_keeps_the_replay_out(
    make_form: MakeForm,
) -> None:
    runs = Runs()
    cache = ReplayCache()
    assert cache.max_entries == 100_000
    for i in range(99_999):  # other events handled earlier, remembered for longer
        cache.add(("earlier", i), expires_at=NOW + 10_000, now=NOW)
    app = callback_app(runs, APP_KEY, cache=cache, clock=lambda: NOW)
    victim = event_form(make_form, "victim")
    async with serve(app) as client:
        first = await client.post("/push", data=victim)
        refused = await client.post("/push", data=event_form(make_form, "new"))
        replay = await client.post("/push", data=victim)
    assert first.json() == {"status": "processed"}
    assert (refused.status_code, refused.headers["retry-after"]) == (503, str(REMEMBERED_FOR))
    assert replay.json() == {"status": "duplicate"}
    assert runs.counts == Counter({"victim": 1})
    assert len(cache) == 100_000


async def test_a_failed_handler_gives_its_place_back(make_form: MakeForm) -> None:
    calls: list[str] = []

    async def flaky(event: PushEvent) -> None:
        calls.append(event.payload["push_id"])
        if len(calls) == 1:
            raise RuntimeError("database is down")

    app = callback_app(flaky, APP_KEY, cache=ReplayCache(1), clock=lambda: NOW)
    async with serve(app) as client:
        failed = await client.post("/push", data=event_form(make_form, "a"))
        other = await client.post("/push", data=event_form(make_form, "b"))
        retry = await client.post("/push", data=event_form(make_form, "a"))
    assert [failed.status_code, other.status_code, retry.status_code] == [500, 200, 503]
    assert calls == ["a", "b"]


async def test_a_duplicate_during_handling_waits_with_a_sqlite_cache_too(
    make_form: MakeForm, tmp_path: Path
) -> None:
    release = anyio.Event()
    runs = Runs()

    async def slow(event: PushEvent) -> None:
        await runs(event)
        await release.wait()

    cache = SqliteReplayCache(tmp_path / "replay.sqlite")
    app = callback_app(slow, APP_KEY, cache=cache, clock=lambda: NOW)
    statuses: list[str] = []
    async with serve(app) as client:

        async def deliver(random: str) -> None:
            response = await client.post("/push", data=event_form(make_form, "e", random=random))
            statuses.append(response.json()["status"])

        async with anyio.create_task_group() as tg:
            tg.start_soon(deliver, "First123")
            tg.start_soon(deliver, "Retry456")
            with anyio.fail_after(10):
                while not runs.counts:
                    await anyio.sleep(0.01)
            await anyio.sleep(0.2)  # give the duplicate time to arrive and wait
            release.set()
    assert sorted(statuses) == ["duplicate", "processed"]
    assert runs.counts == Counter({"e": 1})


# -- Two worker processes and a restart, sharing one SqliteReplayCache file ------------------


class Worker:
    """A uvicorn process running sqlite_worker:create, stopped by its pid."""

    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "uvicorn", "--factory", "sqlite_worker:create"),
                *("--app-dir", str(HERE), "--host", "127.0.0.1", "--port", "0"),
                *("--lifespan", "off"),
            ],
            env={**env, "WORKER_NAME": name},
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        ready = threading.Event()

        def watch() -> None:
            assert self.process.stderr is not None
            for line in self.process.stderr:
                self.lines.append(line)
                if "Uvicorn running on" in line:
                    ready.set()
            ready.set()

        self.watcher = threading.Thread(target=watch, daemon=True)
        self.watcher.start()
        if not ready.wait(30) or not any("Uvicorn running on" in line for line in self.lines):
            self.stop()
            raise AssertionError(f"worker {name} did not start: {''.join(self.lines)}")
        running = next(line for line in self.lines if "Uvicorn running on" in line)
        self.url = running.split("running on ")[1].split()[0]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)
        self.watcher.join(timeout=15)
        assert self.process.stderr is not None
        self.process.stderr.close()


@pytest.fixture
def worker_env(tmp_path: Path) -> dict[str, str]:
    clock = tmp_path / "clock"
    clock.write_text(str(NOW))
    return {
        **os.environ,
        "WORKER_CACHE": str(tmp_path / "replay.sqlite"),
        "WORKER_MAX": "5",
        "WORKER_CLOCK": str(clock),
        "WORKER_RUNS": str(tmp_path / "runs.txt"),
    }


async def test_workers_sharing_a_sqlite_cache_handle_each_event_once_across_a_restart(
    make_form: MakeForm, worker_env: dict[str, str]
) -> None:
    runs_file = Path(worker_env["WORKER_RUNS"])
    a, b = Worker("a", worker_env), Worker("b", worker_env)
    restarted: Worker | None = None
    try:
        async with httpx.AsyncClient(timeout=30) as client:

            async def post(worker: Worker, form: dict[str, str]) -> tuple[int, str, str]:
                response = await client.post(f"{worker.url}/push", data=form)
                body = response.json()
                reason = body.get("reason", "")
                return (
                    response.status_code,
                    f"{body['status']}{reason and ':' + reason}",
                    (response.headers.get("retry-after", "")),
                )

            first = event_form(make_form, "p1")
            seen = [await post(a, first), await post(b, first)]
            seen.append(await post(b, event_form(make_form, "p1", random="Retry456")))

            # While worker a handles an event, worker b is asked for the same one.
            held = make_form(payload={"push_id": "held", "hold": True})
            from_a: list[tuple[int, str, str]] = []
            async with anyio.create_task_group() as tg:

                async def deliver_held() -> None:
                    from_a.append(await post(a, held))

                tg.start_soon(deliver_held)
                with anyio.fail_after(10):
                    while "held" not in (runs_file.read_text() if runs_file.exists() else ""):
                        await anyio.sleep(0.02)
                seen.append(await post(b, held))
                Path(f"{runs_file}.release").touch()
            seen += [*from_a, await post(b, held)]

            # Fill the cache (5 places): p1 and held are in, three more.
            seen += [await post(w, event_form(make_form, f"p{i}")) for i, w in ((3, a), (4, b))]
            seen.append(await post(a, event_form(make_form, "p5")))
            seen.append(await post(b, event_form(make_form, "p6")))
            seen.append(await post(a, first))

            # A restarted worker has the same memory.
            a.stop()
            restarted = Worker("a2", worker_env)
            seen.append(await post(restarted, first))
            seen.append(await post(restarted, event_form(make_form, "p6")))

            # After the entries expire, the new event is handled.
            later = NOW + REMEMBERED_FOR + 1
            Path(worker_env["WORKER_CLOCK"]).write_text(str(later))
            seen.append(await post(restarted, event_form(make_form, "p6", timestamp=later)))
    finally:
        for worker in (a, b, restarted):
            if worker is not None and worker.process.poll() is None:
                worker.stop()
    assert seen == [
        (200, "processed", ""),
        (200, "duplicate", ""),
        (200, "duplicate", ""),
        (503, "retry_later:in_progress", "15"),
        (200, "processed", ""),
        (200, "duplicate", ""),
        (200, "processed", ""),
        (200, "processed", ""),
        (200, "processed", ""),
        (503, "retry_later:replay_cache_full", str(REMEMBERED_FOR)),
        (200, "duplicate", ""),
        (200, "duplicate", ""),
        (503, "retry_later:replay_cache_full", str(REMEMBERED_FOR)),
        (200, "processed", ""),
    ]
    handled = Counter(line.split()[1] for line in runs_file.read_text().splitlines())
    assert handled == Counter({"p1": 1, "held": 1, "p3": 1, "p4": 1, "p5": 1, "p6": 1})
    assert [line.split()[0] for line in runs_file.read_text().splitlines()][-1] == "a2"
