"""The two HTTP backends the wire-level suites run on.

``BACKENDS`` parametrizes a test over both; the aiohttp case is skipped, with its reason,
when aiohttp is not installed (CI installs it: the ``test`` extra pulls it in).
``backend_fixture`` is the conftests' autouse fixture: in the modules a suite lists it sets
``SUNMI_BACKEND`` for the test, so every client those tests build, in-process or in the
subprocesses they start, owns connections of that backend (clients given a ``transport`` or
built under trio stay on httpx, as ``SUNMI_BACKEND`` documents).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable

import pytest

AIOHTTP_INSTALLED = importlib.util.find_spec("aiohttp") is not None
_NO_AIOHTTP = pytest.mark.skipif(not AIOHTTP_INSTALLED, reason="aiohttp is not installed")
BACKENDS = ["httpx", pytest.param("aiohttp", marks=_NO_AIOHTTP)]


def parametrize_wire_modules(
    metafunc: pytest.Metafunc, modules: Iterable[str], httpx_only: Iterable[str] = ()
) -> None:
    """Run each test of the named modules (file stems) once per backend, except the tests
    named in ``httpx_only`` (they inspect httpx's own objects)."""
    if (
        metafunc.definition.path.stem in set(modules)
        and metafunc.definition.originalname not in set(httpx_only)
        and "wire_backend" in metafunc.fixturenames
    ):
        metafunc.parametrize("wire_backend", BACKENDS, indirect=True)


def use_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The backend of this test (httpx unless parametrized), set as ``SUNMI_BACKEND``."""
    backend = str(getattr(request, "param", "httpx"))
    if backend != "httpx":
        monkeypatch.setenv("SUNMI_BACKEND", backend)
    else:
        monkeypatch.delenv("SUNMI_BACKEND", raising=False)
    return backend
