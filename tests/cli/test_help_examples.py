"""Issue 11 case 9: the examples run as written against the fake cloud.

The examples in ``--help`` are taken from the installed command's own help output and run,
in order, against ``sunmi-face fake-server`` (only the example face ids are replaced by real
ones). A group name typed in the wrong case is answered with the close names. The next steps
``demo`` prints run as printed from the directory it ran in, with no venv on ``PATH``.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

from sunmi_face_async.testing.pictures import write_faces

from ._proc import SUNMI_FACE, TIMEOUT, Fake, clean_env, fake, run, run_env

__all__ = ["fake"]

# The commands whose examples run here, in an order where each example's groups exist.
COMMANDS = [
    ["groups", "list"],
    ["groups", "show"],
    ["groups", "create"],
    ["groups", "update"],
    ["groups", "delete"],
    ["faces", "add"],
    ["faces", "list"],
    ["faces", "show"],
    ["faces", "update"],
    ["faces", "move"],
    ["faces", "delete"],
    ["strategy", "set"],
    ["export"],
]
EXAMPLE_ID, OTHER_EXAMPLE_ID = "578968751459", "578968751460"


def examples(command: list[str], fake: Fake, cwd: Path) -> list[list[str]]:
    shown = run([*command, "--help"], fake, cwd)
    assert shown.returncode == 0, shown.stderr
    found = [
        shlex.split(match.group(1))
        for line in shown.stdout.splitlines()
        if "Usage:" not in line and (match := re.search(r"\bsunmi-face (.+)$", line))
    ]
    assert found, f"sunmi-face {' '.join(command)} --help shows no example"
    return found


def _add(fake: Fake, cwd: Path, group: str, picture: Path) -> str:
    added = run(["faces", "add", str(picture), "--group", group, "--json"], fake, cwd)
    assert added.returncode == 0, added.stderr
    return str(__import__("json").loads(added.stdout)["face_id"])


def test_every_help_example_runs_as_written(fake: Fake, tmp_path: Path) -> None:
    pictures = write_faces(tmp_path / "pics", 4)
    (tmp_path / "mike.jpg").write_bytes(pictures[0].read_bytes())
    ran = []
    for command in COMMANDS:
        for example in examples(command, fake, tmp_path):
            creates = example[:2] == ["groups", "create"]
            if creates and example[2] in fake.groups():
                run(["groups", "delete", example[2]], fake, tmp_path)  # made by a setup step
            elif not creates and "VIP" in example and "VIP" not in fake.groups():
                run(["groups", "create", "VIP"], fake, tmp_path)  # the create example's group
            ids = {}
            if example[:2] == ["faces", "move"]:
                ids[EXAMPLE_ID] = _add(fake, tmp_path, "stranger", pictures[1])
            elif EXAMPLE_ID in example:
                ids[EXAMPLE_ID] = _add(fake, tmp_path, "regular", pictures[2])
                ids[OTHER_EXAMPLE_ID] = _add(fake, tmp_path, "regular", pictures[3])
            argv = [ids.get(word, word) for word in example]
            stdout = None
            if ">" in argv:  # a shell redirection in the example
                argv, target = argv[: argv.index(">")], argv[argv.index(">") + 1]
                stdout = target
            result = run(argv, fake, tmp_path)
            assert result.returncode == 0, (example, result.stderr)
            if stdout is not None:
                (tmp_path / stdout).write_text(result.stdout, encoding="utf-8")
            ran.append(" ".join(example))
    assert any("--from stranger --to regular" in line for line in ran)
    assert any("strategy set --target regular" in line for line in ran)


def test_a_wrong_case_group_name_suggests_the_close_ones(fake: Fake, tmp_path: Path) -> None:
    result = run(["faces", "list", "--group", "Strangers"], fake, tmp_path)
    assert result.returncode == 2
    assert "unknown group 'Strangers'" in result.stderr
    assert "did you mean 'stranger'?" in result.stderr
    assert "names are case-sensitive" in result.stderr


def test_demo_next_steps_run_as_printed_without_the_venv_on_path(
    fake: Fake, tmp_path: Path
) -> None:
    venv = Path(SUNMI_FACE).parent.parent
    cwd = tmp_path / "clone"  # a directory of its own: the default journal goes here
    cwd.mkdir()
    env = clean_env()
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if Path(p).resolve() != venv / "bin"
    )
    keep = tmp_path / "demo-files"
    demo_args = ["demo", "--count", "12", "--latency", "0", "--no-faults", "--keep", str(keep)]
    demo = run_env(demo_args, env, cwd)
    assert demo.returncode == 0, demo.stderr
    printed = demo.stderr[demo.stderr.index("next:") :].splitlines()[1:]
    commands = [shlex.split(line.split(". ", 1)[-1].split("   (")[0]) for line in printed]
    commands = [c for c in commands if c and "sunmi-face" in c[0]]
    assert [c[1] for c in commands] == ["fake-server", "groups", "enroll", "faces"]
    for command in commands[1:]:  # the fake-server step is the `fake` fixture's server
        result = subprocess.run(
            command,
            env={**env, **fake.env},
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert result.returncode == 0, (command, result.stderr)
    assert len(fake.faces_in("Staff")) == 12
