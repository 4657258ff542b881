"""Scenario: ``bulk.sync`` of N faces of which 1 % changed, against the fake over loopback.

The fake runs in its own process (``--serve``), its store filled directly in memory (N faces
with keys ``k0..``, the ``move`` share of them in another group), 50 ms added to every
answer. The client runs in another process (``--client``), so its peak RSS is its own: it
writes N picture files and a JSON Lines manifest, records in a fresh sync journal the
picture it "uploaded" for every key (as a completed earlier sync would have), then syncs at
C = 16 with ``prune``. Of the N keys, 1 % changed: 40 % of those renamed (update), 20 % new
(add), 10 % in the other group (move), 10 % with a new picture file (replace: add, then
delete) and 20 % gone from the manifest (delete). The requests the fake saw are counted by
endpoint; the expected writes are about N / 100 (a replace costs two).

``python -m benchmarks.sync_perf [--quick]`` prints the table and writes
``benchmarks/out/sync_perf.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SLOT = 1
SHARES = {"update": 0.4, "add": 0.2, "move": 0.1, "replace": 0.1, "delete": 0.2}


def picture(index: int) -> bytes:
    return b"\xff\xd8\xff\xe0" + index.to_bytes(8, "big") + b"\x00" * 48


def plan_sets(n: int) -> dict[str, range]:
    """Which indices get which change: consecutive blocks, spread by a stride."""
    changed = max(n // 100, 5)
    out: dict[str, range] = {}
    start = 0
    for kind, share in SHARES.items():
        count = max(1, round(changed * share))
        out[kind] = range(start, start + count)
        start += count
    return out


def _spread(i: int, n: int) -> int:
    return (i * 7919) % n  # a stride co-prime with most n: changes spread over the group


# -- the server process ------------------------------------------------------------------------


def serve(n: int, latency: float, ids_file: Path) -> None:
    from sunmi_face_async.testing import FakeSunmiCloud, Faults
    from sunmi_face_async.testing.server import serve

    cloud = FakeSunmiCloud(max_faces=2 * n + 100, faults=Faults(latency=latency))
    store = cloud.shop_state()
    target = store.create_group("sync", 5, 2 * n + 10, None, ["ext", None, None, None, None])
    other = store.create_group("other", 5, 2 * n + 10, None, ["ext", None, None, None, None])
    sets = plan_sets(n)
    moved = {_spread(i, n) for i in sets["move"]}
    with ids_file.open("w", encoding="utf-8") as out:
        for i in range(n):
            group = other if i in moved else target
            face = store.add_face(
                group.group_id,
                name=f"person {i}",
                gender=0,
                age_range=0,
                values=[f"k{i}", None, None, None, None],
                pic_sha256=hashlib.sha256(picture(i)).hexdigest(),
                pic_size=len(picture(i)),
            )
            out.write(f"k{i}\t{face.face_id}\t{group.group_id}\n")
        out.write(f"#target\t{target.group_id}\n")
    serve(cloud, port=0)


# -- the client process ------------------------------------------------------------------------


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _prepare(args: argparse.Namespace) -> tuple[str, dict[str, tuple[str, str]], Path]:
    """Write the pictures and the manifest (blocking, before the event loop starts)."""
    n, work = args.client, Path(args.work)
    ids: dict[str, tuple[str, str]] = {}
    target = ""
    for line in Path(args.ids).read_text().splitlines():
        key, value, *rest = line.split("\t")
        if key == "#target":
            target = value
        else:
            ids[key] = (value, rest[0])
    sets = plan_sets(n)
    renamed = {_spread(i, n) for i in sets["update"]}
    replaced = {_spread(i, n) for i in sets["replace"]}
    gone = {_spread(i, n) for i in sets["delete"]}
    pics = work / "pictures"
    pics.mkdir()
    manifest = work / "manifest.jsonl"
    with manifest.open("w", encoding="utf-8") as out:
        for i in range(n):
            if i in gone:
                continue
            path = pics / f"{i}.jpg"
            path.write_bytes(picture(i + 10**9 if i in replaced else i))
            name = f"renamed {i}" if i in renamed else f"person {i}"
            row = {"picture": str(path), "name": name, "external_key": f"k{i}"}
            out.write(json.dumps(row) + "\n")
        for j in sets["add"]:
            path = pics / f"new{j}.jpg"
            path.write_bytes(picture(n + j))
            out.write(json.dumps({"picture": str(path), "external_key": f"new{j}"}) + "\n")
    return target, ids, manifest


async def _client(args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    from sunmi_face_async import AsyncSunmiFace
    from sunmi_face_async.bulk import SyncJournal, read_manifest, sync
    from sunmi_face_async.bulk._policy import job_identity

    n, work = args.client, Path(args.work)
    target, ids, manifest = _prepare(args)
    pics = work / "pictures"
    journal = work / "sync.sqlite"
    async with AsyncSunmiFace(
        args.app_id,
        args.app_key,
        sunmi_shop_no=args.shop_no,
        base_url=args.base_url,
        max_connections=args.concurrency,
        timeout=30,
    ) as client:
        # The journal is created with this job's identity (a plan writes none); then the
        # pictures an earlier complete sync would have recorded are written into it.
        created = SyncJournal(journal)
        created.open(job_identity(client, SLOT, None, {"operation": "sync"}))
        created.close()
        _record_pictures(journal, ids, pics, n)
        admin = args.base_url.rsplit("/openapi", 1)[0] + "/_fake"
        async with httpx.AsyncClient(timeout=10) as web:
            (await web.post(admin + "/stats/reset", json={})).raise_for_status()
        rss_before = _rss_kb()
        started = time.perf_counter()
        report = await sync(
            client,
            read_manifest(manifest, group_id=target),
            external_key_slot=SLOT,
            journal=journal,
            prune=True,
            concurrency=args.concurrency,
            groups=[target],
        )
        seconds = time.perf_counter() - started
        async with httpx.AsyncClient(timeout=10) as web:
            stats = (await web.get(admin + "/stats?request_times=false")).json()
    return {
        "faces": n,
        "concurrency": args.concurrency,
        "latency_s": args.latency,
        "seconds": round(seconds, 2),
        "counts": {k: v for k, v in report.plan_dict().items() if k != "items"},
        "outcomes": dict(report.outcomes),
        "requests": stats["requests_by_endpoint"],
        "writes": sum(
            v
            for k, v in stats["requests_by_endpoint"].items()
            if k in ("/face/add", "/face/update", "/face/delete", "/face/group/move")
        ),
        "rss_before_sync_mb": round(rss_before / 1024, 1),
        "rss_after_sync_mb": round(_rss_kb() / 1024, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _record_pictures(journal: Path, ids: dict[str, tuple[str, str]], pics: Path, n: int) -> None:
    import os
    import sqlite3

    now = time.time()
    with sqlite3.connect(journal) as conn:
        rows = []
        for i in range(n):
            face_id, group = ids[f"k{i}"]
            path = pics / f"{i}.jpg"
            stat = os.stat(path) if path.exists() else None
            digest = hashlib.sha256(picture(i)).hexdigest()
            size = stat.st_size if stat else None
            mtime = stat.st_mtime_ns if stat else None
            # The replaced ones were uploaded from another file state: recorded size/mtime
            # do not match, so sync hashes them and sees the new picture.
            if stat is not None and digest != hashlib.sha256(path.read_bytes()).hexdigest():
                mtime = (mtime or 0) - 1
            rows.append((f"k{i}", face_id, group, digest, str(path), size, mtime, now))
        conn.executemany("INSERT INTO pictures VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)


# -- the driver ----------------------------------------------------------------------------------


def run_one(n: int, *, concurrency: int = 16, latency: float = 0.05) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="sync-perf-") as tmp:
        ids = Path(tmp) / "ids.tsv"
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.sync_perf",
                "--serve",
                str(n),
                "--ids",
                str(ids),
                "--latency",
                str(latency),
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=HERE.parent,
        )
        try:
            assert server.stdout is not None
            details: dict[str, str] = {}
            for line in server.stdout:
                if line.strip() == "ready":
                    break
                key, _, value = line.strip().partition("=")
                details[key] = value
            work = Path(tmp) / "work"
            work.mkdir()
            out = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.sync_perf",
                    "--client",
                    str(n),
                    "--ids",
                    str(ids),
                    "--work",
                    str(work),
                    "--base-url",
                    details["base_url"],
                    "--app-id",
                    details["app_id"],
                    "--app-key",
                    details["app_key"],
                    "--shop-no",
                    details["shop_no"],
                    "--concurrency",
                    str(concurrency),
                    "--latency",
                    str(latency),
                ],
                capture_output=True,
                text=True,
                cwd=HERE.parent,
                check=False,
                timeout=1800,
            )
            if out.returncode != 0:
                raise RuntimeError(out.stderr[-3000:])
            result: dict[str, Any] = json.loads(out.stdout)
            return result
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def run(sizes: tuple[int, ...] = (10_000, 100_000)) -> list[dict[str, Any]]:
    return [run_one(n) for n in sizes]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sync_perf", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 and 10,000 faces")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--client", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ids", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--app-id", help=argparse.SUPPRESS)
    parser.add_argument("--app-key", help=argparse.SUPPRESS)
    parser.add_argument("--shop-no", help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.latency, Path(args.ids))
        return 0
    if args.client:
        import anyio

        print(json.dumps(anyio.run(_client, args)))
        return 0
    results = run((1_000, 10_000) if args.quick else (10_000, 100_000))
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "sync_perf.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    for r in results:
        print(
            f"{r['faces']:>7} faces  C={r['concurrency']}  {r['latency_s'] * 1000:.0f} ms: "
            f"{r['seconds']:.1f} s, {r['writes']} writes, requests {r['requests']}, "
            f"plan {r['counts']}, outcomes {r['outcomes']}, peak RSS {r['peak_rss_mb']} MB "
            f"(after sync {r['rss_after_sync_mb']} MB)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
