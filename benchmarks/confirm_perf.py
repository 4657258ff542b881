"""Scenario: what confirming an enrollment costs, for N faces (10,000 by default).

The fake runs over loopback in its own process (``FakeCloudServer``, 50 ms added to every
answer, 1 % of the faces refused after acceptance, no processing delay so that only the
confirmation's own cost is measured). Three jobs of N pictures each, C = 16, into a group
each:

- ``none``: ``enroll`` without confirmation (the baseline);
- ``listing``: ``confirm="listing", confirm_wait=0``: the group listed once after the pass;
- ``push``: ``confirm="push"``: a stand-in receiver (a thread of this process, sharing its
  GIL and the journal's SQLite lock) records a confirmation (code 0) for each accepted face
  through ``record_confirmation``, as a push receiver would, while the job runs; the job
  ends when every face has its word. It runs against a second fake that refuses nothing
  (the stand-in cannot know which faces the other process refused).

For each: the requests the fake saw by endpoint, the seconds of the whole job and of its
confirmation phase (from the end of the upload pass to the end), and for ``push`` the
receiver's seconds per ``record_confirmation``. The counts are checked against the fake's
own listing. ``python -m benchmarks.confirm_perf [--quick] [-n N]`` prints the table and
writes ``benchmarks/out/confirm_perf.json``.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import anyio

HERE = Path(__file__).resolve().parent
LATENCY = 0.05
CONCURRENCY = 16


def picture(index: int) -> bytes:
    return b"\xff\xd8\xff\xe0" + index.to_bytes(8, "big") + b"\x00" * 48


class Receiver(threading.Thread):
    """Records a word (code 0) for each accepted face the journal holds, as pushes would
    bring them; times each ``record_confirmation``."""

    def __init__(self, journal: Path) -> None:
        super().__init__(daemon=True)
        self.journal = journal
        self.stop = threading.Event()
        self.recorded: set[str] = set()
        self.seconds = 0.0

    def run(self) -> None:
        from sunmi_face_async.bulk import record_confirmation

        while not self.stop.is_set():
            for face_id in self._accepted():
                begun = time.perf_counter()
                record_confirmation(self.journal, face_id, 0, "")
                self.seconds += time.perf_counter() - begun
                self.recorded.add(face_id)
            self.stop.wait(0.05)

    def _accepted(self) -> set[str]:
        if not self.journal.exists():
            return set()
        conn = sqlite3.connect(f"file:{self.journal}?mode=ro", uri=True, timeout=10)
        try:
            rows = conn.execute(
                "SELECT face_id FROM items WHERE face_id IS NOT NULL AND face_id NOT IN"
                " (SELECT face_id FROM confirmations)"
            )
            return {row[0] for row in rows} - self.recorded
        except sqlite3.OperationalError:
            return set()
        finally:
            conn.close()


async def _one(server: Any, mode: str, n: int, work: Path) -> dict[str, Any]:
    from sunmi_face_async.bulk import FaceUpload, Outcome, enroll

    journal = work / f"{mode}.sqlite"
    phase_started: list[float] = []

    def on_event(event: Any) -> None:
        if event.kind == "phase" and event.detail.startswith("confirming") and not phase_started:
            phase_started.append(time.perf_counter())

    async with server.client(max_connections=CONCURRENCY) as client:
        group = await client.groups.create(f"confirm-{mode}", capacity=n)
        uploads = [FaceUpload(group.group_id, picture(i)) for i in range(n)]
        await server.reset_stats()
        receiver = None
        if mode == "push":
            receiver = Receiver(journal)
        options: dict[str, Any] = {}
        if mode != "none":
            options = {"confirm": mode, "confirm_wait": 0 if mode == "listing" else 600}
        if receiver is not None:
            receiver.start()
        begun = time.perf_counter()
        job = enroll(
            client,
            uploads,
            journal=journal,
            concurrency=CONCURRENCY,
            on_event=on_event,
            **options,
        )
        report = await job.run()
        ended = time.perf_counter()
        if receiver is not None:
            receiver.stop.set()
            receiver.join(10)
        stats = await server.stats(request_times=False)
        listed = {f.face_id for f in await server.faces_in(group.group_id)}
    row: dict[str, Any] = {
        "mode": mode,
        "n": n,
        "seconds": round(ended - begun, 2),
        "confirm_seconds": round(ended - phase_started[0], 2) if phase_started else 0.0,
        "requests": dict(stats["requests_by_endpoint"]),
        "confirmation": report.confirmation,
        "missing_on_fake": n - len(listed),
    }
    if mode == "listing":
        row["exact"] = report.counts[Outcome.REJECTED] == n - len(listed)
    if receiver is not None:
        row["receiver_ms_per_push"] = round(
            1000 * receiver.seconds / max(1, len(receiver.recorded)), 3
        )
    return row


async def _run(n: int) -> list[dict[str, Any]]:
    from sunmi_face_async.testing import FakeCloudServer

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        refusing = FakeCloudServer(latency=LATENCY, reject_rate=0.01, seed=1, max_faces=3 * n)
        async with refusing:
            for mode in ("none", "listing"):
                rows.append(await _one(refusing, mode, n, Path(tmp)))
        # The stand-in receiver cannot know which faces another process's fake refused, so
        # the push job runs against a fake that refuses none (its counts stay true).
        async with FakeCloudServer(latency=LATENCY, max_faces=2 * n) as server:
            rows.append(await _one(server, "push", n, Path(tmp)))
    return rows


def run(n: int = 10_000) -> list[dict[str, Any]]:
    return anyio.run(_run, n)


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| mode | N | job s | confirmation s | requests (add / getFaceList) | accepted / "
        "confirmed / rejected / unconfirmed | missing on the fake |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        req, c = r["requests"], r["confirmation"]
        said = f"{c['accepted']} / {c['confirmed']} / {c['rejected']} / {c['unconfirmed']}"
        lines.append(
            f"| {r['mode']} | {r['n']:,} | {r['seconds']} | {r['confirm_seconds']} | "
            f"{req.get('/face/add', 0):,} / {req.get('/face/group/getFaceList', 0):,} | "
            f"{said} | {r['missing_on_fake']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.confirm_perf", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 faces")
    parser.add_argument("-n", type=int, default=10_000, help="faces per job")
    args = parser.parse_args(argv)
    rows = run(1_000 if args.quick else args.n)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "confirm_perf.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    print(table(rows))
    for r in rows:
        if "receiver_ms_per_push" in r:
            print(f"push receiver: {r['receiver_ms_per_push']} ms per record_confirmation")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
