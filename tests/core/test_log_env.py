"""``SUNMI_LOG=debug|info`` turns the library's logging on, to stderr, without code: checked in
child processes (so no handler leaks into this one), with two clients built (one handler)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

KEY = "LOGENV-KEY-5b1e07c3d9"
SCRIPT = textwrap.dedent(
    f"""
    import asyncio, httpx
    from sunmi_face_async import AsyncSunmiFace, ValidationError

    def answer(request):
        return httpx.Response(200, json={{"code": 0, "msg": "", "data": {{"face_id": "1"}}}})

    def broken(record):
        raise KeyError("hook")

    async def main():
        try:
            first = AsyncSunmiFace("APP", "{KEY}", sunmi_shop_no="1",
                                   transport=httpx.MockTransport(answer), on_attempt=broken)
        except ValidationError as exc:
            print("refused:", exc)
            return
        second = AsyncSunmiFace("APP", "{KEY}", sunmi_shop_no="1",
                                transport=httpx.MockTransport(answer))
        async with first, second:
            await first.faces.get("1")
            await second.faces.get("1")

    asyncio.run(main())
    """
)


def _run(value: str | None, prelude: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SUNMI_LOG"}
    if value is not None:
        env["SUNMI_LOG"] = value
    return subprocess.run(
        [sys.executable, "-c", prelude + SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_debug_logs_each_attempt_once_to_stderr() -> None:
    result = _run("debug")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "attempt=1" in line]
    assert len(lines) == 2  # one per call, not one per client built (a single handler)
    assert all(" DEBUG sunmi_face_async: POST /face/getInfo attempt=1" in line for line in lines)
    assert all("http_status=200 code=0" in line for line in lines)
    assert "on_attempt hook 'broken' raised KeyError" in result.stderr
    assert KEY not in result.stderr


@pytest.mark.parametrize("value", ["info", "INFO "])
def test_info_shows_warnings_but_not_attempts(value: str) -> None:
    result = _run(value)
    assert result.returncode == 0, result.stderr
    assert "attempt=1" not in result.stderr
    assert "WARNING sunmi_face_async: on_attempt hook 'broken' raised KeyError" in result.stderr


@pytest.mark.parametrize("value", [None, ""])
def test_unset_configures_nothing(value: str | None) -> None:
    result = _run(value)
    assert result.returncode == 0, result.stderr
    assert "attempt=" not in result.stderr
    # Only Python's own last-resort output of the warning: no handler of ours, no format.
    assert "WARNING sunmi_face_async:" not in result.stderr
    assert result.stderr.startswith("on_attempt hook 'broken' raised KeyError")


def test_a_bad_value_is_refused_naming_the_variable() -> None:
    result = _run("loud")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "refused: SUNMI_LOG: must be debug or info; got 'loud'"


_APP_LOGGING = (
    "import logging, sys\n"
    "logging.basicConfig(stream=sys.stderr, format='APP %(levelname)s %(name)s: %(message)s')\n"
)


def test_an_application_s_own_handler_shows_each_line_once() -> None:
    # The application set up logging (a root handler): its handler shows the lines, once
    # each (SUNMI_LOG's handler came on top of it, so every line was printed twice).
    result = _run("debug", prelude=_APP_LOGGING)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "attempt=1" in line]
    assert len(lines) == 2
    assert all(line.startswith("APP DEBUG sunmi_face_async: POST /face/getInfo") for line in lines)
    assert KEY not in result.stderr


def test_a_handler_that_would_drop_the_lines_does_not_count() -> None:
    # A root handler that shows warnings only would hide what SUNMI_LOG=debug asks for.
    prelude = _APP_LOGGING + "logging.getLogger().handlers[0].setLevel(logging.WARNING)\n"
    result = _run("debug", prelude=prelude)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "attempt=1" in line]
    assert len(lines) == 2
    assert all(" DEBUG sunmi_face_async: POST /face/getInfo" in line for line in lines)
    assert not any(line.startswith("APP") for line in lines)
