"""Fixtures for the fake cloud's tests: both surfaces, a client, and an independent raw signer.

``surface`` is parametrized over "inprocess" (ASGITransport) and "uvicorn" (one server
subprocess per session on a free port, stopped by pid). Each test gets its own store number,
so tests sharing the server cannot see each other's groups.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator

import pytest

from sunmi_face_async import AsyncSunmiFace, RetryPolicy
from sunmi_face_async.testing import FakeSunmiCloud

from .helpers import IN_PROCESS_URL, RawApi, Surface, shop_numbers


def _read_announcement(process: subprocess.Popen[str]) -> dict[str, str]:
    assert process.stdout is not None
    details: dict[str, str] = {}
    for line in process.stdout:
        if line.strip() == "ready":
            return details
        key, _, value = line.strip().partition("=")
        details[key] = value
    raise RuntimeError(f"the fake server exited early with {process.wait()}")


@pytest.fixture(scope="session")
def uvicorn_server() -> Iterator[dict[str, str]]:
    """``python -m sunmi_face_async.testing --port 0`` for the whole session, stopped by pid."""
    command = [sys.executable, "-m", "sunmi_face_async.testing", "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        details = _read_announcement(process)
        assert int(details["pid"]) == process.pid
        yield details
    finally:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        assert process.stdout is not None
        process.stdout.close()


@pytest.fixture(params=["inprocess", "uvicorn"])
def surface(request: pytest.FixtureRequest) -> Surface:
    shop_no = str(next(shop_numbers))
    if request.param == "inprocess":
        cloud = FakeSunmiCloud(push_retry_delays=(0.0, 0.0, 0.0, 0.0))
        return Surface("inprocess", IN_PROCESS_URL, shop_no, cloud)
    details: dict[str, str] = request.getfixturevalue("uvicorn_server")
    return Surface("uvicorn", details["base_url"], shop_no)


@pytest.fixture
async def client(surface: Surface) -> AsyncIterator[AsyncSunmiFace]:
    async with surface.client() as client:
        yield client


@pytest.fixture
async def no_retry_client(surface: Surface) -> AsyncIterator[AsyncSunmiFace]:
    async with surface.client(retry=RetryPolicy(max_attempts=1)) as client:
        yield client


@pytest.fixture
async def raw(surface: Surface) -> AsyncIterator[RawApi]:
    async with surface.http() as http:
        yield RawApi(http, surface.shop_no)
