"""Pytest fixtures for projects that test their code against the fake cloud.

Enable it in a ``conftest.py`` with ``pytest_plugins = ["sunmi_face_async.testing.plugin"]``.

- ``sunmi_cloud``: a fresh :class:`~sunmi_face_async.testing.FakeSunmiCloud` per test (push
  retries without delays).
- ``sunmi_client``: an ``AsyncSunmiFace`` bound to ``sunmi_cloud`` in-process, closed after
  the test. It is an async fixture: it needs pytest-asyncio (or anyio's pytest plugin).

The fake is imported inside the fixtures, so enabling the plugin costs nothing and a missing
``fake`` extra is reported only by a test that uses it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .. import AsyncSunmiFace
    from .fake import FakeSunmiCloud

try:  # pytest-asyncio's decorator also works in its strict mode
    from pytest_asyncio import fixture as _async_fixture
except ImportError:  # pragma: no cover - anyio's plugin runs plain async fixtures
    _async_fixture = pytest.fixture  # type: ignore[assignment]


def _new_cloud() -> FakeSunmiCloud:
    try:
        from .fake import FakeSunmiCloud
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "the sunmi_cloud fixture needs the fake cloud's extra: "
            "pip install 'sunmi-face-async[fake]'"
        ) from exc
    return FakeSunmiCloud(push_retry_delays=(0.0, 0.0, 0.0, 0.0))


@pytest.fixture
def sunmi_cloud() -> FakeSunmiCloud:
    """A fresh in-memory SUNMI cloud with the default test credentials."""
    return _new_cloud()


@_async_fixture
async def sunmi_client(sunmi_cloud: FakeSunmiCloud) -> AsyncIterator[AsyncSunmiFace]:
    """A client bound to ``sunmi_cloud`` in-process; closed after the test."""
    client: Any = sunmi_cloud.client()
    async with client:
        yield client
