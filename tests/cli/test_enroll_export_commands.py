"""enroll and export through CliRunner against the in-process fake."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from sunmi_face_async.testing import FakeSunmiCloud

from .conftest import Invoke, png_files


def group_id(cloud: FakeSunmiCloud, name: str) -> str:
    return next(g.group_id for g in cloud.groups_of() if g.name == name)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The current directory (default journals go under ./.sunmi-face)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_enroll_a_folder(invoke: Invoke, cloud: FakeSunmiCloud, workdir: Path) -> None:
    png_files(workdir / "pics", 5)
    result = invoke(["enroll", "pics", "--group", "VIP", "--create-group", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["counts"]["done"] == 5
    faces = cloud.faces_in(group_id(cloud, "VIP"))
    assert sorted(f.name for f in faces) == [f"face-0000{i}" for i in range(5)]
    assert Path(report["journal"]).exists()
    assert "enroll: 5/5 (5 done, 0 failed)" in result.stderr  # plain progress, not a terminal


def test_enroll_again_needs_resume_and_resume_skips(
    invoke: Invoke, cloud: FakeSunmiCloud, workdir: Path
) -> None:
    png_files(workdir / "pics", 3)
    assert invoke(["enroll", "pics", "-g", "VIP", "--create-group"]).exit_code == 0
    again = invoke(["enroll", "pics", "-g", "VIP"])
    assert again.exit_code == 2
    assert "--resume" in again.stderr
    png_files(workdir / "pics", 2, start=3)
    resumed = invoke(["enroll", "pics", "-g", "VIP", "--resume", "--json"])
    assert resumed.exit_code == 0, resumed.output
    counts = json.loads(resumed.stdout)["counts"]
    assert (counts["done"], counts["skipped"]) == (2, 3)
    assert len(cloud.faces_in(group_id(cloud, "VIP"))) == 5


def test_enroll_folder_needs_a_known_group(invoke: Invoke, workdir: Path) -> None:
    png_files(workdir / "pics", 1)
    no_group = invoke(["enroll", "pics"])
    assert no_group.exit_code == 2
    assert "--group" in no_group.output
    unknown = invoke(["enroll", "pics", "-g", "Nope"])
    assert unknown.exit_code == 2
    assert unknown.stderr.startswith("error: unknown group 'Nope'")


def _manifest(workdir: Path) -> Path:
    png_files(workdir / "pics", 3)
    manifest = workdir / "faces.csv"
    manifest.write_text(
        "picture,name,gender,age_range,external_key\n"
        "pics/face-00000.png,Ann,female,4,K0\n"
        "pics/face-00001.png,Bob,martian,4,K1\n"
        "pics/face-00002.png,Cy,male,9,K2\n"
        "pics/missing.png,Dee,male,4,K3\n"
    )
    return manifest


def test_enroll_csv_reports_bad_rows_and_enrolls_the_rest(
    invoke: Invoke, cloud: FakeSunmiCloud, workdir: Path
) -> None:
    manifest = _manifest(workdir)
    assert invoke(["groups", "create", "VIP"]).exit_code == 0
    result = invoke(["enroll", str(manifest), "-g", "VIP", "--external-key-slot", "2"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    # A bad manifest row is invalid (refused before sending), not failed.
    failure_lines = [ln for ln in result.stderr.splitlines() if ln.startswith("invalid:")]
    assert len(failure_lines) == 3
    assert any("line 3" in ln and "gender" in ln for ln in failure_lines)
    assert any("line 4" in ln for ln in failure_lines)
    assert any("line 5" in ln for ln in failure_lines)
    (face,) = cloud.faces_in(group_id(cloud, "VIP"))
    assert (face.name, face.customer_value(2)) == ("Ann", "K0")


def test_dry_run_checks_everything_and_sends_nothing(
    invoke: Invoke, cloud: FakeSunmiCloud, workdir: Path, bare_invoke: Invoke
) -> None:
    manifest = _manifest(workdir)
    cloud.reset_stats()
    result = bare_invoke(["enroll", str(manifest), "-g", "VIP", "--dry-run", "--json"])
    assert result.exit_code == 1, result.output
    counts = json.loads(result.stdout)["counts"]
    assert (counts["checked"], counts["invalid"]) == (1, 3)
    assert sum(cloud.stats.requests_by_endpoint.values()) == 0
    assert not (workdir / ".sunmi-face").exists()


def test_dry_run_of_a_clean_folder_exits_0(bare_invoke: Invoke, workdir: Path) -> None:
    png_files(workdir / "pics", 4)
    result = bare_invoke(["enroll", "pics", "-g", "VIP", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "checked" in result.stdout


def test_unreadable_or_unknown_source_is_a_usage_error(invoke: Invoke, workdir: Path) -> None:
    (workdir / "faces.txt").write_text("hello")
    wrong_kind = invoke(["enroll", "faces.txt", "-g", "stranger"])
    assert wrong_kind.exit_code == 2
    assert "use a directory of pictures, a .csv or a .jsonl" in wrong_kind.stderr
    missing = invoke(["enroll", "nothing.csv", "-g", "stranger"])
    assert missing.exit_code == 2
    assert "does not exist" in missing.output


def test_shards_split_the_work(invoke: Invoke, cloud: FakeSunmiCloud, workdir: Path) -> None:
    png_files(workdir / "pics", 12)
    assert invoke(["groups", "create", "VIP"]).exit_code == 0
    done = 0
    for k in range(3):
        result = invoke(
            ["enroll", "pics", "-g", "VIP", "--shard", f"{k}/3", "--no-journal", "--json"]
        )
        assert result.exit_code == 0, result.output
        done += json.loads(result.stdout)["counts"]["done"]
    assert done == 12
    assert len(cloud.faces_in(group_id(cloud, "VIP"))) == 12


@pytest.mark.parametrize("shard", ["3/3", "a/b", "1"])
def test_bad_shard_is_a_usage_error(invoke: Invoke, workdir: Path, shard: str) -> None:
    png_files(workdir / "pics", 1)
    result = invoke(["enroll", "pics", "-g", "stranger", "--shard", shard])
    assert result.exit_code == 2
    assert "K/N" in result.output


def test_export_jsonl_and_csv(invoke: Invoke, cloud: FakeSunmiCloud, workdir: Path) -> None:
    png_files(workdir / "pics", 4)
    assert invoke(["enroll", "pics", "-g", "VIP", "--create-group"]).exit_code == 0
    truth = {f.face_id: f.name for f in cloud.faces_in(group_id(cloud, "VIP"))}

    jsonl = invoke(["export", "-g", "VIP"])
    assert jsonl.exit_code == 0, jsonl.output
    rows = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert {r["face_id"]: r["name"] for r in rows} == truth
    assert "exported 4 faces" in jsonl.stderr

    out = workdir / "vip.csv"
    as_csv = invoke(["export", "-g", "VIP", "-g", "stranger", "--format", "csv", "-o", str(out)])
    assert as_csv.exit_code == 0, as_csv.output
    records = list(csv.DictReader(io.StringIO(out.read_text())))
    assert {r["face_id"]: r["name"] for r in records} == truth


def test_export_to_an_unwritable_path(invoke: Invoke, workdir: Path) -> None:
    result = invoke(["export", "-g", "stranger", "-o", str(workdir / "no" / "such" / "dir.csv")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: cannot write")


def test_demo_in_process_can_rerun_in_a_kept_directory(bare_invoke: Invoke, tmp_path: Path) -> None:
    args = ["demo", "--count", "30", "--latency", "0", "--keep", str(tmp_path), "--json"]
    for _ in range(2):
        result = bare_invoke(args)
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        assert (summary["faces_on_server"], summary["duplicates_on_server"]) == (30, 0)
    exported = (tmp_path / "export.jsonl").read_text().splitlines()
    assert len(exported) == 30
    assert len(list((tmp_path / "pictures").glob("*.png"))) == 30
