"""A resumed job waits for the client's timeout plus 5 s (not a fixed 35 s) before it
reconciles what an earlier run left in flight."""

from __future__ import annotations

import re
from pathlib import Path

import anyio

from sunmi_face_async.bulk import BulkEvent, FaceUpload, Journal, enroll
from sunmi_face_async.testing import FakeSunmiCloud
from sunmi_face_async.testing.pictures import tiny_png

TIMEOUT = 1.0


async def test_the_default_settle_is_the_client_timeout_plus_5_seconds(tmp_path: Path) -> None:
    cloud = FakeSunmiCloud()
    path = tmp_path / "job.db"
    async with cloud.client(timeout=TIMEOUT) as client:
        group = await client.groups.create("settle")
        # An earlier run that died with "k0" in flight, just now.
        with Journal(path) as journal:
            await journal.claim("k0", group.group_id, "digest-of-k0")
        upload = FaceUpload(group_id=group.group_id, pic=tiny_png(0), external_key="k0")
        waits: list[float] = []
        waiting = anyio.Event()

        def on_event(event: BulkEvent) -> None:
            found = re.match(r"waiting ([0-9.]+) s", event.detail)
            if event.kind == "reconcile" and found:
                waits.append(float(found[1]))
                waiting.set()

        job = enroll(client, [upload], journal=path, external_key_slot=1, on_event=on_event)
        async with anyio.create_task_group() as tg:
            tg.start_soon(job.run)
            with anyio.fail_after(30):
                await waiting.wait()
            tg.cancel_scope.cancel()
    assert waits, "the resumed job waits for the earlier run's upload to settle"
    assert waits[0] <= TIMEOUT + 5.0, waits
