"""A canary app_key and a scanner that fails on any trace of it."""

from __future__ import annotations

import logging
import traceback
from typing import Any

import pytest

from tests._backends import parametrize_wire_modules, use_backend

CANARY = "CANARY-7f3a9c51e2-app-key"
# A distinctive fragment: catches a key that was truncated, quoted or re-encoded around it.
FRAGMENT = "7f3a9c51e2"


class Scanner:
    """Collects texts that may show the key and checks them all at once."""

    canary = CANARY

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    def add(self, where: str, text: object) -> None:
        self.texts.append((where, text if isinstance(text, str) else repr(text)))

    def add_exception(self, exc: BaseException) -> None:
        self.add("str(exc)", str(exc))
        self.add("repr(exc)", repr(exc))
        self.add("vars(exc)", repr(vars(exc)))
        formatted = traceback.TracebackException.from_exception(exc, capture_locals=True)
        self.add("traceback with locals", "".join(formatted.format()))

    def add_records(self, records: list[logging.LogRecord]) -> None:
        formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        for record in records:
            self.add(f"log {record.name}", formatter.format(record))
            self.add(f"log args {record.name}", repr(record.args))

    def assert_clean(self) -> None:
        assert self.texts, "nothing was scanned"
        leaks = [where for where, text in self.texts if CANARY in text or FRAGMENT in text]
        assert leaks == [], f"the app_key shows in: {leaks}"


@pytest.fixture
def scanner() -> Scanner:
    return Scanner()


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Any:
    """Capture every logger at DEBUG (httpx and httpcore included)."""
    caplog.set_level(logging.DEBUG)
    return caplog


# Backend parametrization: these modules build clients that own real connections, so each
# of their tests runs once per HTTP backend (the others stay on httpx).
WIRE_MODULES = ("test_tls", "test_surrogates", "test_canary_key")
# They read httpx's pools' TLS contexts; tests/core/test_backend.py checks aiohttp's.
HTTPX_ONLY = (
    "test_owned_clients_verify_certificates_and_host_names",
    "test_from_env_client_verifies_too",
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_wire_modules(metafunc, WIRE_MODULES, HTTPX_ONLY)


@pytest.fixture(autouse=True)
def wire_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    return use_backend(request, monkeypatch)
