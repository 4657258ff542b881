"""The README's command line quick start runs as printed, line by line, against the fake.

The commands are read from the README itself (the ``sh`` block of "Quick start: the command
line"); only the ``export SUNMI_...`` line is replaced by the variables the running fake
server printed, and ``.venv/bin/sunmi-face`` by this venv's console script.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

from ._proc import SUNMI_FACE, TIMEOUT, Fake, clean_env, fake

__all__ = ["fake"]

README = Path(__file__).resolve().parents[2] / "README.md"


def quickstart_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Quick start: the command line", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "the quick start has no sh block"
    joined = block.group(1).replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if line.strip()]


def test_the_quick_start_names_the_tool_as_the_venv_installs_it() -> None:
    commands = quickstart_commands()
    assert commands[0].startswith("export SUNMI_BASE_URL=")
    assert all(command.startswith(".venv/bin/sunmi-face ") for command in commands[1:])


def test_every_quick_start_command_runs_as_printed(fake: Fake, tmp_path: Path) -> None:
    commands = quickstart_commands()[1:]  # the export line: the fake's own variables instead
    env = clean_env(fake.env)
    outputs = []
    for command in commands:
        argv = shlex.split(command, comments=True)
        assert argv[0] == ".venv/bin/sunmi-face"
        result = subprocess.run(
            [SUNMI_FACE, *argv[1:]],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert result.returncode == 0, f"{command}\n{result.stderr}"
        outputs.append(result.stdout + result.stderr)
    # The exported manifest, synced back, plans no change at all.
    assert "plan: add 0, update 0, move 0, delete 0, replace 0, unchanged 300" in outputs[-1]
    assert (tmp_path / "staff.csv").is_file()
    assert (tmp_path / "staff-manifest.csv").is_file()
