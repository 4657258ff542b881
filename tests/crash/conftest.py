"""The crash suite runs its wire-level modules on both HTTP backends."""

from __future__ import annotations

import pytest

from tests._backends import parametrize_wire_modules, use_backend

# Backend parametrization: these modules build clients that own real connections, so each
# of their tests runs once per HTTP backend (the others stay on httpx).
WIRE_MODULES = ("test_sigkill_resume", "test_resume_waits_for_killed_uploads")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_wire_modules(metafunc, WIRE_MODULES)


@pytest.fixture(autouse=True)
def wire_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    return use_backend(request, monkeypatch)
