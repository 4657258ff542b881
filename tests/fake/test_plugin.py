"""The pytest plugin as a user gets it: loaded by its entry point, in a child pytest run in a
directory with no conftest.py, with and without the ``fake`` extra, and turned off by name."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from importlib.metadata import entry_points
from pathlib import Path

import sunmi_face_async

INI = """\
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""

USER_TESTS = '''
import sys

from sunmi_face_async import AsyncSunmiFace


def test_nothing_of_the_fake_is_imported_by_the_plugin_itself():
    assert [m for m in ("starlette", "uvicorn") if m in sys.modules] == []


async def test_cloud_and_client(sunmi_cloud, sunmi_client):
    group = await sunmi_client.groups.create("VIP")
    assert [g.name for g in sunmi_cloud.groups_of()][-1] == "VIP"
    assert sunmi_cloud.faces_in(group.group_id) == []


async def code_under_test(name):
    """Application code that builds its own client from the environment."""
    async with AsyncSunmiFace.from_env() as client:
        return await client.groups.create(name)


async def test_env_points_from_env_at_the_session_server(sunmi_server, sunmi_env):
    assert sunmi_env["SUNMI_BASE_URL"] == sunmi_server.base_url
    assert sunmi_server.base_url.startswith("http://127.0.0.1:")
    group = await code_under_test("Regulars")
    names = [g.name for g in sunmi_server.cloud.groups_of(sunmi_env["SUNMI_SHOP_NO"])]
    assert names == ["stranger", "regular", "employee", "Regulars"]
    assert sunmi_server.cloud.stats.requests_by_endpoint["/face/group/create"] >= 1
    assert group.name == "Regulars"


async def test_each_test_gets_its_own_store(sunmi_server, sunmi_env):
    async with AsyncSunmiFace.from_env() as client:
        assert [g.name for g in await client.groups.list()] == ["stranger", "regular", "employee"]


def test_a_test_slows_the_shared_server(sunmi_server, sunmi_env):
    sunmi_server.cloud.faults.latency = 0.5


def test_the_next_test_finds_its_faults_put_back(sunmi_server, sunmi_env):
    assert sunmi_server.cloud.faults.latency == 0.0
'''


#: Plugins of this venv the user's tests do not need, left out to halve each child's start-up.
UNRELATED = [f"-pno:{name}" for name in ("hypothesispytest", "respx", "anyio", "platformdirs")]


def _run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """``pytest -p no:cacheprovider ARGS`` in ``tmp_path``; its whole output."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *UNRELATED, *args]
    result = subprocess.run(
        [*command, str(tmp_path)],
        cwd=tmp_path,
        env=env or _env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return f"exit={result.returncode}\n{result.stdout}{result.stderr}"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("SUNMI_", "PYTEST_"))}


def _user_project(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text(INI)
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    assert not (tmp_path / "conftest.py").exists()


def test_the_entry_point_gives_the_fixtures_without_a_conftest(tmp_path: Path) -> None:
    _user_project(tmp_path)
    out = _run(tmp_path)
    assert "exit=0" in out, out
    assert "6 passed" in out, out


def test_no_sunmi_face_async_turns_the_plugin_off(tmp_path: Path) -> None:
    _user_project(tmp_path)
    out = _run(tmp_path, "-p", "no:sunmi_face_async", "-k", "cloud_and_client")
    assert "exit=1" in out, out
    assert "fixture 'sunmi_cloud' not found" in out, out


def test_a_conftest_naming_the_plugin_module_still_works_beside_the_entry_point(
    tmp_path: Path,
) -> None:
    _user_project(tmp_path)
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["sunmi_face_async.testing.plugin"]\n')
    out = _run(tmp_path, "-k", "cloud_and_client")
    assert "exit=0" in out, out
    assert "1 passed" in out, out


def _site_without_the_fake_extra(tmp_path: Path) -> Path:
    """A copy (by symlinks) of this venv's site-packages without starlette, uvicorn and
    python-multipart: what a venv has when the ``fake`` extra is not installed."""
    site = Path(sysconfig.get_paths()["purelib"])
    left_out = ("starlette", "uvicorn", "python_multipart", "multipart")
    copy = tmp_path / "site"
    copy.mkdir()
    for entry in site.iterdir():
        if not entry.name.lower().startswith(left_out):
            (copy / entry.name).symlink_to(entry)
    return copy


def test_without_the_fake_extra_pytest_starts_and_a_fixture_names_what_is_missing(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    _user_project(project)
    (project / "test_plain.py").write_text("def test_plain():\n    assert 1 + 1 == 2\n")
    site = _site_without_the_fake_extra(tmp_path)
    repo = Path(sunmi_face_async.__file__).resolve().parent.parent
    env = {**_env(), "PYTHONPATH": os.pathsep.join([str(site), str(repo)])}
    probe = subprocess.run(
        [sys.executable, "-S", "-c", "import starlette"], env=env, capture_output=True, timeout=60
    )
    assert probe.returncode != 0  # the emulation really lacks the extra
    command = [sys.executable, "-S", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rE"]
    command += UNRELATED
    result = subprocess.run(
        [*command, str(project)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "test_plain.py ." in out or "2 passed" in out, out
    assert (
        "the sunmi_cloud fixture needs the fake cloud's extra (missing: starlette,"
        " python_multipart): pip install 'sunmi-face-async[fake]'" in out
    ), out
    assert "the sunmi_server fixture needs the fake cloud's extra" in out, out
    # Collection itself worked: the plugin loaded and only the tests using it errored.
    assert "2 passed" in out, out
    assert "5 errors" in out, out


PLAIN_TESTS = """
import sys


def _ours():
    return sorted(m for m in sys.modules if m.split(".")[0] in ("sunmi_face_async", "httpx"))


def test_a_plain_test_finds_the_plugin_loaded_and_the_library_not_imported(request):
    assert request.config.pluginmanager.has_plugin("sunmi_face_async")
    assert _ours() == []


def test_the_library_is_imported_when_a_fixture_is_used(sunmi_cloud):
    assert type(sunmi_cloud).__name__ == "FakeSunmiCloud"
    assert "sunmi_face_async.testing" in _ours()
"""


def test_the_plugin_imports_nothing_of_the_library_until_a_fixture_runs(tmp_path: Path) -> None:
    """pytest loads the entry point in every run, in any project of the venv: the library
    (httpx and all, ~0.5 s and 230 modules) is imported only when a test uses a fixture."""
    (tmp_path / "pytest.ini").write_text(INI)
    (tmp_path / "test_plain.py").write_text(PLAIN_TESTS)
    out = _run(tmp_path)
    assert "exit=0" in out, out
    assert "2 passed" in out, out


ENV_TESTS = """
import os


def test_a_uses_sunmi_env(sunmi_env):
    assert "SUNMI_SHOP_ID" not in os.environ
    assert os.environ["SUNMI_BASE_URL"] == sunmi_env["SUNMI_BASE_URL"] != "http://mine/openapi"


def test_b_finds_the_environment_it_started_with():
    assert os.environ["SUNMI_SHOP_ID"] == "42"
    assert os.environ["SUNMI_BASE_URL"] == "http://mine/openapi"
    assert "SUNMI_APP_KEY" not in os.environ and "SUNMI_SHOP_NO" not in os.environ
"""


def test_sunmi_env_puts_the_environment_back_after_the_test(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text(INI)
    (tmp_path / "test_env.py").write_text(ENV_TESTS)
    env = {**_env(), "SUNMI_SHOP_ID": "42", "SUNMI_BASE_URL": "http://mine/openapi"}
    out = _run(tmp_path, env=env)
    assert "exit=0" in out, out
    assert "2 passed" in out, out


def test_the_installed_entry_point_names_a_module_carrying_every_fixture() -> None:
    from sunmi_face_async.testing import plugin

    (entry,) = [e for e in entry_points(group="pytest11") if e.name == "sunmi_face_async"]
    module = entry.load()
    for name in ("sunmi_cloud", "sunmi_client", "sunmi_server", "sunmi_env"):
        assert getattr(module, name) is getattr(plugin, name), name
    assert module is not plugin  # see the conftest test above
