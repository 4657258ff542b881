"""Items are named by file and line, never by an internal key, and unknown ones can be
resolved after the fact without a second copy (issue 11, case 2). Real processes against the
fake cloud over HTTP; the fake applies some uploads and then drops the connection, so their
outcome is unknown to the tool."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sunmi_face_async.testing import FakeCloudServer
from sunmi_face_async.testing.pictures import write_faces

from ._proc import run_env, server_env

SUNMI_FACE = str(Path(sys.executable).with_name("sunmi-face"))
TIMEOUT = 90
COUNT = 60
# The settle time the check waits for is the client's timeout plus 5 s.
FLAGS = ["--timeout", "1"]


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_env(args, env, cwd, timeout=TIMEOUT)


async def test_unknown_items_are_named_and_resolved_after_the_fact(tmp_path: Path) -> None:
    pictures = write_faces(tmp_path / "photos", COUNT)
    (tmp_path / "photos" / "copy-of-first.png").write_bytes(pictures[0].read_bytes())
    journal = tmp_path / "job.sqlite"
    async with FakeCloudServer(seed=3) as server:
        env = server_env(server)
        async with server.client() as client:
            group = await client.groups.create("G")
        await server.set_faults(commit_then_timeout_rate=0.5, endpoints=["/face/add"])
        args = [*FLAGS, "enroll", "photos", "--group", group.group_id, "--journal", str(journal)]
        first = _run(args, env, tmp_path)
        await server.set_faults(commit_then_timeout_rate=0.0)
        err = first.stderr
        assert first.returncode == 1, err
        unknown_lines = [line for line in err.splitlines() if line.startswith("unknown: ")]
        print("\n" + "\n".join(err.splitlines()[:3] + unknown_lines[:2]))
        assert len(unknown_lines) == 20
        assert all(re.match(r"unknown: photos/[a-z0-9-]+\.png: ", u) for u in unknown_lines)
        assert not re.search(r"[0-9a-f]{32}", err), "no picture hash or internal key"
        more = re.search(r"… and (\d+) more unknown \(--json lists every one", err)
        assert more is not None, err
        total_unknown = 20 + int(more[1])
        # Whichever of the two copies came second is the duplicate; both are named.
        [duplicate] = [line for line in err.splitlines() if line.startswith("duplicate: ")]
        pair = ("photos/face-00000.png", "photos/copy-of-first.png")
        assert any(
            duplicate.startswith(f"duplicate: {a}: the same picture as {b} was already sent")
            for a, b in (pair, pair[::-1])
        ), duplicate
        assert "external_key_slot" not in err
        assert "--external-key-slot N" in err

        # --json lists all of them, by file.
        again = [*FLAGS, "--json", "enroll", "photos", "--journal", str(journal), "--resume"]
        resumed = _run(again, env, tmp_path)
        report = json.loads(resumed.stdout)
        listed = [i for i in report["items"] if i["outcome"] == "unknown"]
        assert len(listed) == report["counts"]["unknown"] == total_unknown
        assert all(i["file"].endswith(".png") and "key" not in i for i in listed)

        # The advice's command runs as printed; it uploads nothing.
        command = shlex.split(
            err.split("(and record what is found in the journal): ")[1].split("\n")[0]
        )
        assert command[:1] == ["sunmi-face"]
        uploads_before = (await server.stats())["requests_by_endpoint"]["/face/add"]
        time.sleep(6.5)  # past the settle time of the last unknown upload
        # Someone deletes one of those faces meanwhile: the check finds it absent.
        faces = await server.faces_in(group.group_id)
        copies = {"face-00000", "copy-of-first"}  # the one not sent is not on the server
        gone_name = next(i["name"] for i in listed if i["name"] not in copies)
        gone = next(f for f in faces if f.name == gone_name)
        async with server.client() as client:
            await client.faces.delete(group.group_id, [gone.face_id])
        checked = _run(command[1:], env, tmp_path)
        out = checked.stderr
        print("\n".join(out.splitlines()[:3]))
        assert (
            out.count("probably applied (not proven): a face has the same name")
            == total_unknown - 1
        )
        assert out.count("not applied: no face has its name and attributes") == 1
        assert "proves little" in out
        assert (await server.stats())["requests_by_endpoint"]["/face/add"] == uploads_before

        resolve = [*command[1:], "--mark-resolved", "--accept-name-matches"]
        resolved = _run(resolve, env, tmp_path)
        assert (
            f"recorded in the journal: {total_unknown - 1} done, 1 to send again" in resolved.stderr
        )
        resend = shlex.split(
            resolved.stderr.split("send the absent ones (once) with: ")[1].split("\n")[0]
        )
        final = _run([*FLAGS, *resend[1:]], env, tmp_path)
        assert final.returncode == 0, final.stderr
        names = Counter(f.name for f in await server.faces_in(group.group_id))
        # Every picture once, none twice; of the two copies of one picture, one.
        expected = {p.stem for p in pictures[1:]}
        assert set(names.values()) == {1}
        assert len(names) == len(expected) + 1
        assert expected < set(names)
        assert set(names) - expected <= {"face-00000", "copy-of-first"}
        assert server.app_key not in err + out + resolved.stderr + final.stderr


async def test_the_old_mark_settled_flag_still_records_but_warns(tmp_path: Path) -> None:
    from sunmi_face_async.bulk import Journal

    journal = tmp_path / "job.sqlite"
    with Journal(journal) as opened:
        opened.bind({"job": "test"}, None)
    async with FakeCloudServer(seed=3) as server:
        env = server_env(server)
        old = _run(["journal", "check", str(journal), "--mark-settled", "--json"], env, tmp_path)
        new = _run(["journal", "check", str(journal), "--mark-resolved", "--json"], env, tmp_path)
    assert old.returncode == 0, old.stderr
    assert "--mark-settled is deprecated; use --mark-resolved" in old.stderr
    assert "deprecated" not in new.stderr
    expected = {"done": 0, "to send again": 0, "left unknown": 0}
    for result in (old, new):
        data = json.loads(result.stdout)
        assert data["resolved"] == expected
        assert data["settled"] == expected  # the old key, kept for a release
