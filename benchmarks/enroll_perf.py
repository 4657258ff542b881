"""Speed and memory figures of bulk enrollment (a script, not collected by pytest).

    .venv/bin/python -m benchmarks.enroll_perf [PART ...] [--quick] [--per-pool=N]

PART is bare, ideal, layers, fault-mix, latency, stock, memory, memory-http, faults, journal
or all (``--per-pool`` tries another number of connections per httpx client of the transport).

- bare: enroll at C = 1 against a bare ``faces.add`` loop, same benchmark server (pinned to
  its own core), same pictures (2, 50 and 500 KB), interleaved rounds, medians; per backend
  (httpx, and aiohttp when the client has ``backend=``). Target: ratio >= 0.90.
- ideal: enroll at C = 64, 50 ms, 500 KB pictures on the benchmark server: the fraction of
  C / latency (target >= 0.85), per backend.
- layers: the per-item cost (µs) of each bulk layer alone (hash, one journal claim, one
  outcome) and of the whole bulk layer over a stub client at C = 1.
- fault-mix: the demo's fault mix (1 % 503, 2 % 5000, 1 % 429, 1 % drops, 2 %
  applied-then-dropped) against fault-free, 3,000 items, in-process fake, C = 16, 20-30 ms,
  three seeds, same run; prints the ratio of the medians (target >= 0.80) and, per run, the
  upload and listing requests, the limit changes, the retries and the time per phase.

- latency: enrollment against the fake over loopback uvicorn at C = 16 / 50 ms, 64 / 200 ms
  and 128 / 400 ms (ideal C / latency = 320 requests per second); prints the fraction.
- stock: zero latency, C = 64: the client's pooled transport against one stock
  ``httpx.AsyncClient`` with 64 connections; prints both rates and the ratio, and the fake's
  CPU use (near 100 % means the fake is the bottleneck).
- memory: 100k uploads through ``enroll`` with its journal, against a client stub that
  answers at once (the bulk layer alone); prints RSS at 10k and at 100k items.
- memory-http: the same 100k uploads through the real client and the fake over loopback.
- faults: 2000 uploads in-process under injected faults, cancelled half way and resumed;
  prints the outcomes and the duplicates on the server, with and without an external key.
- journal: claims + done marks per second through the journal alone.
Figures are noisy on a shared machine: run it when the machine is quiet. ``python -m
benchmarks`` (the published scenarios) does not run this script.
"""

from __future__ import annotations

import argparse
import os
import statistics
import struct
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx

from sunmi_face_async.bulk import FaceUpload, Journal, Outcome, enroll
from sunmi_face_async.testing import FakeCloudServer

from . import enroll_cells

QUICK = False  # set by --quick: smaller runs
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def picture(i: int) -> bytes:
    return b"\xff\xd8\xff\xe0" + struct.pack(">Q", i) + b"\x00" * 200


def uploads(group_id: str, n: int, start: int = 0) -> Iterator[FaceUpload]:
    for i in range(start, start + n):
        yield FaceUpload(group_id, picture(i), name=f"p{i}", external_key=f"k{i}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * PAGE / 1e6


async def timed_enroll(client: Any, group_id: str, n: int, start: int, **options: Any) -> float:
    began = time.perf_counter()
    # external_key_slot: an upload whose reply was lost (say, a keep-alive connection the server
    # closed as it was reused) is reconciled rather than counted as missing
    report = await enroll(client, uploads(group_id, n, start), external_key_slot=1, **options).run()
    elapsed = time.perf_counter() - began
    assert report.counts[Outcome.DONE] == n, report.as_dict()
    return n / elapsed


async def raw_adds(client: Any, group_id: str, n: int, start: int, concurrency: int) -> float:
    """The same uploads from ``concurrency`` plain tasks: the ceiling without the bulk layer."""

    async def worker(k: int) -> None:
        for i in range(start + k, start + n, concurrency):
            await client.faces.add(group_id, pic=picture(i), name=f"p{i}")

    began = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for k in range(concurrency):
            tg.start_soon(worker, k)
    return n / (time.perf_counter() - began)


async def latency_runs() -> None:
    print("# fraction of the ideal C / latency (320 req/s), over loopback uvicorn")
    async with FakeCloudServer(max_faces=5_000_000, default_capacity=2_000_000) as server:
        async with server.client(max_connections=128) as setup:
            group = await setup.groups.create("perf", capacity=2_000_000, customer_keys=["key"])
        start = 0
        for concurrency, latency in ((16, 0.05), (64, 0.2), (128, 0.4)):
            await server.set_faults(latency=latency)
            n = 640 if QUICK else 2560
            async with server.client(max_connections=concurrency) as client:
                raw = await raw_adds(client, group.group_id, n, start, concurrency)
            start += n
            print(
                f"C={concurrency:<4} latency={latency * 1000:.0f}ms raw client calls "
                f"{raw:7.1f} req/s = {raw / (concurrency / latency):.3f}"
            )
            for adaptive in (True, False):
                async with server.client(max_connections=concurrency) as client:
                    before = cpu_seconds(server.pid or 0)
                    own = time.process_time()
                    began = time.perf_counter()
                    rate = await timed_enroll(
                        client,
                        group.group_id,
                        n,
                        start,
                        concurrency=concurrency,
                        adaptive=adaptive,
                    )
                    wall = time.perf_counter() - began
                    cpu = (cpu_seconds(server.pid or 0) - before) / wall
                    own = (time.process_time() - own) / wall
                start += n
                ideal = concurrency / latency
                print(
                    f"C={concurrency:<4} latency={latency * 1000:.0f}ms adaptive={adaptive!s:<5} "
                    f"{rate:7.1f} req/s = {rate / ideal:.3f} of {ideal:.0f}; "
                    f"CPU: fake {cpu:.0%}, client {own:.0%}"
                )


async def stock_runs() -> None:
    print("# zero latency, C = 64: pooled transport vs one stock httpx.AsyncClient")
    n = 2000 if QUICK else 5000
    pairs = 2 if QUICK else 3
    async with FakeCloudServer(max_faces=5_000_000, default_capacity=2_000_000) as server:
        async with server.client(max_connections=64) as setup:
            group = await setup.groups.create("perf", capacity=2_000_000, customer_keys=["key"])
        start = 0
        figures: dict[str, list[float]] = {"stock": [], "pooled": []}
        for label in ("stock", "pooled") * pairs:
            stock = None
            if label == "stock":
                limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
                stock = httpx.AsyncClient(limits=limits, timeout=30.0)
            try:
                async with server.client(max_connections=64, http_client=stock) as client:
                    before = cpu_seconds(server.pid or 0)
                    own = time.process_time()
                    began = time.perf_counter()
                    rate = await timed_enroll(
                        client, group.group_id, n, start, concurrency=64, adaptive=False
                    )
                    wall = time.perf_counter() - began
                    cpu = (cpu_seconds(server.pid or 0) - before) / wall
                    own = (time.process_time() - own) / wall
            finally:
                if stock is not None:
                    await stock.aclose()
            start += n
            figures[label].append(rate)
            cost = own / rate * 1000
            print(
                f"{label:<8} {rate:7.1f} req/s; CPU: fake {cpu:.0%}, client {own:.0%} "
                f"= {cost:.2f} ms of client CPU per request"
            )
        median = {label: statistics.median(rates) for label, rates in figures.items()}
        print(f"ratio pooled / stock (medians) = {median['pooled'] / median['stock']:.2f}")


async def memory_run() -> None:
    print("# RSS of enroll over 100k uploads (journal on disk, a stub client answering at once)")
    total = 20_000 if QUICK else 100_000
    marks = {10_000: 0.0, total: 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        job = enroll(
            enroll_cells.StubClient(),
            uploads("g", total),
            concurrency=64,
            journal=Path(tmp) / "j.db",
        )
        began = time.perf_counter()
        seen = 0
        print(f"start RSS {rss_mb():.1f} MB")
        async for _ in job:
            seen += 1
            if seen in marks:
                marks[seen] = rss_mb()
                speed = seen / (time.perf_counter() - began)
                print(f"{seen:>7} items: RSS {marks[seen]:.1f} MB, {speed:.0f} items/s")
        assert job.report.counts[Outcome.DONE] == total


async def memory_http_run() -> None:
    print("# RSS of enroll over 100k uploads through the client, over loopback uvicorn")
    total = 20_000 if QUICK else 100_000
    marks = (10_000, total)
    server = FakeCloudServer(max_faces=5_000_000, default_capacity=2_000_000)
    async with server, server.client(max_connections=64) as client:
        group = await client.groups.create("mem", capacity=2_000_000, customer_keys=["key"])
        with tempfile.TemporaryDirectory() as tmp:
            job = enroll(
                client,
                uploads(group.group_id, total),
                concurrency=64,
                journal=Path(tmp) / "j.db",
                external_key_slot=1,
            )
            began = time.perf_counter()
            seen = 0
            print(f"start RSS {rss_mb():.1f} MB")
            async for _ in job:
                seen += 1
                if seen in marks:
                    speed = seen / (time.perf_counter() - began)
                    print(f"{seen:>7} items: RSS {rss_mb():.1f} MB, {speed:.0f} items/s")
            assert job.report.counts[Outcome.DONE] == total, job.report.as_dict()


async def fault_run() -> None:
    print("# 2000 uploads in-process under faults, cancelled part way, then resumed")
    from collections import Counter

    from sunmi_face_async import RetryPolicy
    from sunmi_face_async.testing import FakeSunmiCloud

    async def no_wait(seconds: float) -> None:
        await anyio.lowlevel.checkpoint()

    for slot in (1, None):
        cloud = FakeSunmiCloud(seed=9)
        async with cloud.client(retry=RetryPolicy(sleep=no_wait)) as client:
            group = await client.groups.create("faults", capacity=30_000, customer_keys=["k"])
            cloud.faults.update(
                {
                    "endpoints": ["/face/add"],
                    "error_rates": {5000: 0.03, 502: 0.03},
                    "throttle_rate": 0.05,
                    "retry_after": 0,
                    "drop_rate": 0.04,
                    "commit_then_timeout_rate": 0.06,
                    "jitter": 0.002,
                }
            )
            with tempfile.TemporaryDirectory() as tmp:
                options: dict[str, Any] = {
                    "concurrency": 32,
                    "journal": Path(tmp) / "j.db",
                    "external_key_slot": slot,
                    "retry_delay": 0,
                    "settle": 0,
                }
                first = enroll(client, uploads(group.group_id, 2000), **options)
                with anyio.CancelScope() as scope:
                    async for _ in first:
                        if first.report.total >= 1000:
                            scope.cancel()
                second = enroll(client, uploads(group.group_id, 2000), **options)
                report = await second.run()
        faces = cloud.faces_in(group.group_id)
        keys = Counter(face.customer_value(1) for face in faces)
        pictures = Counter(cloud.picture_digest(face.face_id)[0] for face in faces)
        print(
            f"external_key_slot={slot}: faults injected {sum(cloud.stats.faults_injected.values())}"
            f"; resumed run {dict((o.value, n) for o, n in report.counts.items() if n)}"
            f"; faces on server {len(faces)}; duplicate pictures "
            f"{sum(n - 1 for n in pictures.values())}"
            + (f", duplicate keys {sum(n - 1 for n in keys.values())}" if slot else "")
        )


async def journal_run() -> None:
    print("# journal alone: claim + mark_done per item, 64 tasks")
    n = 20_000
    with tempfile.TemporaryDirectory() as tmp, Journal(Path(tmp) / "j.db") as journal:
        began = time.perf_counter()

        async def worker(k: int) -> None:
            for i in range(k, n, 64):
                await journal.claim(f"k{i}", "g", f"h{i}")
                await journal.mark_done(f"k{i}", f"f{i}")

        async with anyio.create_task_group() as tg:
            for k in range(64):
                tg.start_soon(worker, k)
        elapsed = time.perf_counter() - began
        print(f"{n / elapsed:.0f} items/s ({2 * n} writes in {journal.transactions} transactions)")


RUNS: dict[str, Callable[[], Awaitable[None]]] = {
    "bare": enroll_cells.bare_runs,
    "ideal": enroll_cells.ideal_runs,
    "layers": enroll_cells.layer_runs,
    "fault-mix": enroll_cells.fault_mix_runs,
    "latency": latency_runs,
    "stock": stock_runs,
    "memory": memory_run,
    "memory-http": memory_http_run,
    "faults": fault_run,
    "journal": journal_run,
}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.enroll_perf",
        description="Speed and memory figures of bulk enrollment.",
    )
    parser.add_argument("parts", nargs="*", metavar="PART", help=f"{', '.join(RUNS)} or all")
    parser.add_argument("--quick", action="store_true", help="smaller runs")
    parser.add_argument(
        "--per-pool", type=int, help="connections per httpx client of the transport (experiment)"
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.parts) - {*RUNS, "all"})
    if unknown:
        parser.error(f"unknown part {unknown[0]!r}: choose from {', '.join(RUNS)} or all")
    return args


def main(argv: list[str] | None = None) -> None:
    global QUICK
    args = _parse(argv)
    QUICK = enroll_cells.QUICK = args.quick
    if args.per_pool is not None:
        import sunmi_face_async._pools as pools

        pools.CONNECTIONS_PER_POOL = args.per_pool
    parts = args.parts or ["all"]
    anyio.run(_run_all, [run for name, run in RUNS.items() if name in parts or "all" in parts])


async def _run_all(runs: list[Callable[[], Awaitable[None]]]) -> None:
    for run in runs:
        await run()


if __name__ == "__main__":
    main()
