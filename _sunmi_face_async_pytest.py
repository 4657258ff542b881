"""The pytest fixtures of sunmi-face-async, as pytest's ``pytest11`` entry point
``sunmi_face_async`` loads them: ``sunmi_cloud``, ``sunmi_client``, ``sunmi_server`` and
``sunmi_env`` (documented in :mod:`sunmi_face_async.testing.plugin`, which re-exports them).

A top-level module, outside the package, because pytest imports every entry point at the
start of every run, in any project of the environment: importing anything under
``sunmi_face_async`` imports the package (httpx and about 230 modules, half a second). Here
only pytest is imported; the library is imported by the first fixture a test uses, and a
missing ``fake`` extra is reported by that test, naming what to install.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from sunmi_face_async import AsyncSunmiFace
    from sunmi_face_async.testing import FakeSunmiCloud, ThreadedFakeServer

try:  # pytest-asyncio's decorator also works in its strict mode
    from pytest_asyncio import fixture as _async_fixture
except ImportError:  # pragma: no cover - anyio's plugin runs plain async fixtures
    _async_fixture = pytest.fixture  # type: ignore[assignment]

__all__ = ["sunmi_client", "sunmi_cloud", "sunmi_env", "sunmi_server"]

#: What each fixture needs from the ``fake`` extra: modules, each with the other names it
#: may be installed under (python-multipart before 0.0.13 is only ``multipart``).
_NEEDS = {
    "in_process": (("starlette",), ("python_multipart", "multipart")),
    "http": (("uvicorn",),),
}
#: The variables ``from_env`` reads; ``sunmi_env`` sets the first four and unsets the last.
_ENV_NAMES = ("SUNMI_APP_ID", "SUNMI_APP_KEY", "SUNMI_SHOP_NO", "SUNMI_BASE_URL", "SUNMI_SHOP_ID")
#: One store per test that uses ``sunmi_env``, so tests sharing the server see only their own.
_shop_numbers = itertools.count(990_000_000_001)


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken install counts as missing
        return False


def _require_fake(fixture: str, *kinds: str) -> None:
    """Fail the test (not the session) naming the missing modules of the ``fake`` extra."""
    wanted = [names for kind in kinds for names in _NEEDS[kind]]
    missing = [names[0] for names in wanted if not any(map(_installed, names))]
    if missing:
        pytest.fail(
            f"the {fixture} fixture needs the fake cloud's extra (missing: {', '.join(missing)}):"
            " pip install 'sunmi-face-async[fake]'",
            pytrace=False,
        )


@pytest.fixture
def sunmi_cloud() -> FakeSunmiCloud:
    """A fresh in-memory SUNMI cloud with the default test credentials."""
    _require_fake("sunmi_cloud", "in_process")
    from sunmi_face_async.testing import FakeSunmiCloud

    return FakeSunmiCloud(push_retry_delays=(0.0, 0.0, 0.0, 0.0))


@_async_fixture
async def sunmi_client(sunmi_cloud: FakeSunmiCloud) -> AsyncIterator[AsyncSunmiFace]:
    """A client bound to ``sunmi_cloud`` in-process; closed after the test."""
    client: Any = sunmi_cloud.client()
    async with client:
        yield client


@pytest.fixture(scope="session")
def sunmi_server() -> Iterator[ThreadedFakeServer]:
    """The fake over HTTP on loopback for the whole session (uvicorn in a thread)."""
    _require_fake("sunmi_server", "in_process", "http")
    from sunmi_face_async.testing import FakeSunmiCloud, ThreadedFakeServer

    cloud = FakeSunmiCloud(push_retry_delays=(0.0, 0.0, 0.0, 0.0))
    with ThreadedFakeServer(cloud) as server:
        yield server


@pytest.fixture
def sunmi_env(
    sunmi_server: ThreadedFakeServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """``SUNMI_*`` set to reach ``sunmi_server`` with a store of this test's own; returned."""
    from sunmi_face_async.testing import Faults

    env = sunmi_server.env(shop_no=str(next(_shop_numbers)))
    for name in _ENV_NAMES:
        if name in os.environ and name not in env:
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    try:
        yield env
    finally:
        sunmi_server.cloud.faults = Faults()
