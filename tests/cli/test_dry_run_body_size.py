"""A dry run refuses exactly what the real run refuses, at the body's 1 MB limit.

Over the fake on a real loopback port: a picture whose real request body is exactly
1,048,576 bytes, and one a byte larger. The real run takes the first and refuses the
second; ``--dry-run --group <id>`` says the same of both. ``--dry-run --group <name>`` cannot
know the id the server gives the name, so it sizes the body for the longest id: it never
passes a picture the real run refuses, and says so.
"""

from __future__ import annotations

import json
from pathlib import Path

from ._proc import Fake, fake, run

__all__ = ["fake"]

LIMIT = 1024 * 1024
BOUNDARY = 32  # hex digits of the multipart boundary


def _part(name: str, value: str) -> int:
    """Bytes of one text field of a multipart body (RFC 7578), counted by hand."""
    dashes = 2 + BOUNDARY
    return dashes + len(f'\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n')


def _overhead(fake: Fake, group_id: str, name: str) -> int:
    """What an upload's body holds besides the picture: the fields SUNMI signs, the picture's
    part head and the closing boundary."""
    fields = {
        "group_id": group_id,
        "name": name,
        "sunmi_shop_no": fake.env["SUNMI_SHOP_NO"],
        "app_id": fake.env["SUNMI_APP_ID"],
        "timestamp": "1" * 10,  # seconds since 1970, ten digits until 2286
        "random": "r" * 10,  # the nonce this client draws is ten characters
        "sign": "s" * 32,  # an MD5 in hex
    }
    head = (
        '\r\nContent-Disposition: form-data; name="pic"; filename="face.jpeg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    )
    closing = f"\r\n--{'b' * BOUNDARY}--\r\n"
    return sum(_part(k, v) for k, v in fields.items()) + 2 + BOUNDARY + len(head) + len(closing)


def _jpeg(path: Path, size: int) -> None:
    path.write_bytes(b"\xff\xd8\xff\xe0" + bytes(size - 4))


def _verdicts(stdout: str) -> tuple[dict[str, int], dict[str, str]]:
    report = json.loads(stdout)
    return report["counts"], {item["file"]: item["reason"] for item in report["items"]}


def test_dry_run_and_real_run_agree_at_the_exact_limit(fake: Fake, tmp_path: Path) -> None:
    created = run(["groups", "create", "VIP"], fake, tmp_path)
    assert created.returncode == 0, created.stderr
    group_id = fake.groups()["VIP"]["group_id"]
    picture = LIMIT - _overhead(fake, group_id, "a")
    _jpeg(tmp_path / "exact.jpg", picture)
    _jpeg(tmp_path / "over.jpg", picture + 1)
    (tmp_path / "m.csv").write_text("picture,name\nexact.jpg,a\nover.jpg,a\n", encoding="utf-8")
    refused = {"over.jpg": "pic: the request body would be 1048577 bytes; the limit is 1 MB"}

    by_id = run(["--json", "enroll", "m.csv", "--group", group_id, "--dry-run"], fake, tmp_path)
    assert by_id.returncode == 1, by_id.stderr
    counts, reasons = _verdicts(by_id.stdout)
    assert (counts["checked"], counts["invalid"]) == (1, 1)
    assert reasons == refused
    assert "is a name" not in by_id.stderr

    by_name = run(["--json", "enroll", "m.csv", "--group", "VIP", "--dry-run"], fake, tmp_path)
    counts, reasons = _verdicts(by_name.stdout)
    assert (counts["checked"], counts["invalid"]) == (0, 2)  # stricter, never looser
    assert "--group 'VIP' is a name" in by_name.stderr
    assert "give the group's id for an exact check" in by_name.stderr

    _jpeg(tmp_path / "small.jpg", 1000)
    (tmp_path / "s.csv").write_text("picture,name\nsmall.jpg,a\n", encoding="utf-8")
    small = run(["enroll", "s.csv", "--group", "VIP", "--dry-run"], fake, tmp_path)
    assert small.returncode == 0, small.stderr
    assert "is a name" not in small.stderr  # said only where it may matter

    real = run(["--json", "enroll", "m.csv", "--group", "VIP", "--no-journal"], fake, tmp_path)
    assert real.returncode == 1, real.stderr
    counts, reasons = _verdicts(real.stdout)
    assert (counts["done"], counts["invalid"]) == (1, 1)
    assert reasons == refused
    assert [face["name"] for face in fake.faces_in("VIP")] == ["a"]
