"""The command line runs on uvloop when it is installed; ``--no-uvloop`` and
``SUNMI_UVLOOP=0`` keep asyncio's own loop."""

from __future__ import annotations

import asyncio
import importlib.util

import pytest
from click.testing import CliRunner

from sunmi_face_async.cli import _runtime
from sunmi_face_async.cli._app import cli

needs_uvloop = pytest.mark.skipif(
    importlib.util.find_spec("uvloop") is None, reason="uvloop is not installed"
)


def _loop_kind() -> str:
    async def body() -> str:
        return type(asyncio.get_running_loop()).__module__.split(".")[0]

    return _runtime.run_async(body)


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUNMI_UVLOOP", raising=False)
    monkeypatch.setattr(_runtime, "_uvloop_refused", False)


@needs_uvloop
def test_commands_run_on_uvloop_when_it_is_installed() -> None:
    assert _loop_kind() == "uvloop"


@pytest.mark.parametrize("value", ["0", "false", "no"])
def test_sunmi_uvloop_0_keeps_asyncio(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUNMI_UVLOOP", value)
    assert _loop_kind() == "asyncio"


def test_without_uvloop_installed_commands_run_on_asyncio(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        _runtime.importlib.util, "find_spec", lambda name: None if name == "uvloop" else real(name)
    )
    assert _loop_kind() == "asyncio"


@needs_uvloop
def test_the_no_uvloop_flag_keeps_asyncio_for_that_invocation_only() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["--no-uvloop", "fake-server", "--help"])
    assert result.exit_code == 0, result.output
    assert _runtime.use_uvloop() is False
    assert _loop_kind() == "asyncio"
    result = runner.invoke(cli, ["fake-server", "--help"])
    assert result.exit_code == 0, result.output
    assert _loop_kind() == "uvloop"


def test_the_flag_is_in_the_help() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert "--no-uvloop" in result.output
    assert "SUNMI_UVLOOP=0" in result.output
