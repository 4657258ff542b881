"""examples/webhook_receiver.py: every distinct event is stored once, whatever is redelivered."""

from __future__ import annotations

import importlib.util
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import httpx
import pytest

APP_KEY = "TESTSECRET0123456789"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "webhook_receiver.py"
MakeForm = Callable[..., dict[str, str]]


@pytest.fixture(scope="module")
def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("webhook_receiver_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stored_payloads(db_path: Path) -> list[str]:
    with sqlite3.connect(db_path) as db:
        rows = db.execute("SELECT payload FROM push_events ORDER BY payload").fetchall()
    db.close()
    return [row[0] for row in rows]


async def test_redeliveries_and_restarts_store_each_event_once(
    example: ModuleType, make_form: MakeForm, tmp_path: Path
) -> None:
    db_path = tmp_path / "events.sqlite"
    now = int(time.time())
    first = {"push_id": "p-1", "face_id": "f1"}
    # The first delivery, three re-signed retries, then a second, different event.
    deliveries = [make_form(payload=first, timestamp=now, random=f"Try{i}abc") for i in range(4)]
    deliveries.append(make_form(payload={"push_id": "p-2"}, timestamp=now))
    statuses = []
    for _ in range(2):  # the second round is a restarted receiver on the same file
        app = example.create_app(APP_KEY, db_path)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://r.test") as client:
            for form in deliveries:
                response = await client.post("/sunmi/push", data=form)
                statuses.append((response.status_code, response.json()["status"]))
    assert statuses[:5] == [(200, "processed")] + [(200, "duplicate")] * 3 + [(200, "processed")]
    # The replay cache lives in the file too: after the restart, everything is a duplicate.
    assert statuses[5:] == [(200, "duplicate")] * 5
    assert stored_payloads(db_path) == ['{"push_id": "p-1", "face_id": "f1"}', '{"push_id": "p-2"}']


async def test_forged_callbacks_are_not_stored(
    example: ModuleType, make_form: MakeForm, tmp_path: Path
) -> None:
    db_path = tmp_path / "events.sqlite"
    app = example.create_app(APP_KEY, db_path)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://r.test") as client:
        response = await client.post("/", data=make_form(key="WRONG-KEY"))
    assert response.status_code == 401
    assert stored_payloads(db_path) == []


def test_example_runs_under_uvicorn_over_loopback(make_form: MakeForm, tmp_path: Path) -> None:
    env = {**os.environ, "SUNMI_APP_KEY": APP_KEY}
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "--port", "0", "--db", str(tmp_path / "e.sqlite")],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    found: list[str] = []
    ready = threading.Event()

    def watch() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            found.append(line)
            if "Uvicorn running on" in line:
                ready.set()
        ready.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        assert ready.wait(30), "uvicorn did not start"
        running = next(line for line in found if "Uvicorn running on" in line)
        base_url = running.split("running on ")[1].split()[0]
        form = make_form(timestamp=int(time.time()))
        with httpx.Client(base_url=base_url, timeout=10) as client:
            first = client.post("/push", data=form)
            again = client.post("/push", data=form)
            forged = client.post("/push", data=make_form(key="WRONG-KEY"))
    finally:
        process.terminate()
        process.wait(timeout=30)
        watcher.join(timeout=30)
        process.stderr.close()
    assert [first.json(), again.json()] == [{"status": "processed"}, {"status": "duplicate"}]
    assert forged.status_code == 401
    assert any("stored" in line for line in found)
    assert not any(APP_KEY in line for line in found)
