"""``sunmi-face`` with the ``cli`` extra only: starlette, uvicorn and multipart unimportable.

A meta-path finder in a fresh interpreter makes the fake extra's modules unimportable, as in
a venv with ``pip install 'sunmi-face-async[cli]'`` (``.ci/check-cli-extra`` checks a real
one): every command but ``demo`` and ``fake-server`` runs, and those two say which extra.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

_RUN_WITHOUT_FAKE = """
import sys

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {"starlette", "uvicorn", "multipart", "python_multipart"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

for name in list(sys.modules):
    if name.partition(".")[0] in {"starlette", "uvicorn", "multipart", "python_multipart"}:
        del sys.modules[name]
sys.meta_path.insert(0, Block())
sys.argv[0] = "sunmi-face"
from sunmi_face_async.cli import main
code = main()
loaded = sorted(m for m in sys.modules if m.partition(".")[0] in {"starlette", "uvicorn"})
assert not loaded, loaded
sys.exit(code)
"""

_EXTRA = "pip install 'sunmi-face-async[cli,fake]'"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _RUN_WITHOUT_FAKE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (("--help",), "groups"),
        (("groups", "list", "--help"), "List the store's groups"),
        (("faces", "--help"), "Usage: sunmi-face faces"),
        (("fake-server", "--help"), "--error-rate CODE=P"),
        (("demo", "--help"), "--count"),
    ],
)
def test_help_runs_without_the_fake_extra(args: tuple[str, ...], shown: str) -> None:
    result = _run(*args)
    assert result.returncode == 0, result.stderr
    assert shown in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize("command", ["demo", "fake-server"])
def test_the_fake_commands_name_the_extra_in_one_line(command: str) -> None:
    result = _run(command)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: '{command}' runs the fake cloud")
    assert "starlette" in lines[0]
    assert lines[0].endswith(_EXTRA)


def test_a_command_that_needs_no_fake_reaches_its_own_checks() -> None:
    result = _run("groups", "list", "--app-id", "", "--app-key", "", "--shop-no", "")
    assert "fake" not in result.stderr
    assert "Traceback" not in result.stderr
    assert result.returncode == 2, result.stderr
