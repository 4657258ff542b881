"""``FakeCloudServer`` (a uvicorn subprocess) and the opt-in pytest plugin."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sunmi_face_async import AsyncSunmiFace, RetryPolicy
from sunmi_face_async.errors import DatabaseError, SignatureError
from sunmi_face_async.testing import FakeCloudServer

from .helpers import PNG


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_the_server_runs_in_a_subprocess_and_stops_by_pid() -> None:
    server = FakeCloudServer(app_id="MYAPP0000001", app_key="my-secret-1", shop_no="100939020409")
    async with server:
        assert server.pid is not None
        assert server.pid != os.getpid()
        assert _alive(server.pid)
        assert server.base_url.startswith("http://127.0.0.1:")
        assert server.base_url.endswith("/openapi")
        assert "my-secret-1" not in repr(server)
        async with server.client() as client:
            group = await client.groups.create("VIP")
            face_id = await client.faces.add(group.group_id, pic=PNG, name="Mike")
        [face] = await server.faces_in(group.group_id)
        assert (face.face_id, face.name) == (face_id, "Mike")
        assert "VIP" in [g.name for g in await server.groups_of()]
        moved = await server.simulate_arrival(face_id)
        assert (moved.group_id, moved.arrival_count) == (group.group_id, face.arrival_count + 1)
        stats = await server.stats()
        assert stats["requests_by_endpoint"]["/face/add"] == 1
        assert len(stats["request_times"]) == sum(stats["requests_by_endpoint"].values())
        assert "request_times" not in await server.stats(request_times=False)
        await server.reset_stats()
        assert (await server.stats())["requests_by_endpoint"] == {}
        wrong = AsyncSunmiFace(
            "MYAPP0000001", "another-secret", sunmi_shop_no="100939020409", base_url=server.base_url
        )
        async with wrong:
            with pytest.raises(SignatureError):
                await wrong.groups.list()
        pid = server.pid
    assert not _alive(pid)


async def test_server_settings_and_faults_travel_to_the_subprocess() -> None:
    async with FakeCloudServer(error_rates={5000: 1.0}, seed=1) as server:
        async with server.client(retry=RetryPolicy(max_attempts=1)) as client:
            with pytest.raises(DatabaseError):
                await client.groups.list()
            settings = await server.set_faults(error_rates={})
            assert settings["error_rates"] == {}
            assert len(await client.groups.list()) == 3
        with pytest.raises(RuntimeError, match="unknown"):
            await server.set_faults(nonsense=1)
    with pytest.raises(TypeError, match="unknown fake settings"):
        FakeCloudServer(colour="blue")


def test_the_pytest_plugin_gives_a_cloud_and_a_client(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["sunmi_face_async.testing.plugin"]\n')
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            async def test_uses_the_fake(sunmi_cloud, sunmi_client):
                group = await sunmi_client.groups.create("VIP")
                assert [g.name for g in sunmi_cloud.groups_of()][-1] == "VIP"
                assert sunmi_cloud.faces_in(group.group_id) == []
            """
        )
    )
    # Only the plugins this needs, to keep the inner run short.
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "pytest_asyncio.plugin"]
    result = subprocess.run(
        [*command, "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


async def test_a_server_that_cannot_start_reports_it() -> None:
    server = FakeCloudServer(extra_args=["--seed", "not-a-number"])
    with pytest.raises(RuntimeError, match="exited early"):
        await server.start()
    assert server.pid is not None
    assert not _alive(server.pid)
