"""A receiver worker for the multi-process tests: ``uvicorn --factory sqlite_worker:create``.

Settings come from the environment: WORKER_CACHE (the SqliteReplayCache file), WORKER_MAX
(its max_entries), WORKER_CLOCK (a file holding the current unix time, so the test moves
every worker's clock at once), WORKER_RUNS (a file each handler run appends "name push_id"
to) and WORKER_NAME. A payload with "hold": true keeps its handler running until the file
WORKER_RUNS + ".release" exists (at most 20 s).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

from sunmi_face_async.webhook import PushEvent, SqliteReplayCache, callback_app

APP_KEY = "TESTSECRET0123456789"


def create() -> Callable[[Any, Any, Any], Awaitable[None]]:
    clock_file = Path(os.environ["WORKER_CLOCK"])
    runs = Path(os.environ["WORKER_RUNS"])
    release = Path(f"{runs}.release")
    name = os.environ["WORKER_NAME"]
    cache = SqliteReplayCache(os.environ["WORKER_CACHE"], max_entries=int(os.environ["WORKER_MAX"]))

    async def handler(event: PushEvent) -> None:
        with runs.open("a") as out:
            out.write(f"{name} {event.payload['push_id']}\n")
        if event.payload.get("hold"):
            with anyio.fail_after(20):
                while not release.exists():
                    await anyio.sleep(0.05)

    return callback_app(handler, APP_KEY, cache=cache, clock=lambda: float(clock_file.read_text()))
