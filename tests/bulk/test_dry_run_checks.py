"""A dry run checks exactly what a real run checks (issue 10, case 5): one validation path,
the encoded body's size limit included, so what the dry run passes the real run sends."""

from __future__ import annotations

from pathlib import Path

import pytest

from sunmi_face_async import AsyncSunmiFace
from sunmi_face_async.bulk import FaceUpload, Journal, Outcome, enroll
from sunmi_face_async.testing import FakeSunmiCloud

from .conftest import picture

JPEG = b"\xff\xd8\xff\xe0"
MB = 1024 * 1024


def _cases(group_id: str) -> list[FaceUpload]:
    return [
        # Exactly 1,048,576 bytes: within the picture limit, but the body would exceed 1 MB.
        FaceUpload(group_id, JPEG + b"\x00" * (MB - len(JPEG)), name="full", line=2),
        FaceUpload(group_id, picture(1), name="nul\x00inside", line=3),
        FaceUpload(group_id, picture(2), name="fine", line=4),
    ]


@pytest.mark.parametrize("dry_run", [True, False])
async def test_the_dry_run_and_the_real_run_refuse_the_same_items(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str, tmp_path: Path, dry_run: bool
) -> None:
    journal = tmp_path / "job.sqlite"
    report = await enroll(client, _cases(group_id), journal=journal, dry_run=dry_run).run()
    outcomes = {item["line"]: (item["outcome"], item["reason"]) for item in report.listed}
    assert outcomes[2][0] == "invalid", outcomes  # before: CHECKED by the dry run, then FAILED
    assert "1 MB" in outcomes[2][1]
    assert outcomes[3][0] == "invalid", outcomes
    assert "NUL" in outcomes[3][1]
    fine = Outcome.CHECKED if dry_run else Outcome.DONE
    assert report.counts[fine] == 1
    assert report.counts[Outcome.INVALID] == 2
    assert report.counts[Outcome.FAILED] == 0
    assert report.sent == (0 if dry_run else 1)  # refused items are never sent
    assert [f.name for f in cloud.faces_in(group_id)] == ([] if dry_run else ["fine"])
    if not dry_run:
        with Journal(journal) as opened:
            assert [row.name for row in opened.rows()] == ["fine"]  # nor claimed
