"""Speed and memory figures of bulk enrollment (a script, not collected by pytest).

    .venv/bin/python -m benchmarks.enroll_perf [latency|stock|memory|memory-http|faults|journal|all]
        [--quick]
        [--per-pool=N]    (try another number of connections per httpx client of the transport)

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


class _StubFaces:
    def __init__(self) -> None:
        self.count = 0

    async def add(self, group_id: str, **_: Any) -> str:
        self.count += 1
        await anyio.lowlevel.checkpoint()
        return f"face-{self.count}"


class _StubClient:
    def __init__(self) -> None:
        self.faces = _StubFaces()


async def memory_run() -> None:
    print("# RSS of enroll over 100k uploads (journal on disk, a stub client answering at once)")
    total = 20_000 if QUICK else 100_000
    marks = {10_000: 0.0, total: 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        job = enroll(_StubClient(), uploads("g", total), concurrency=64, journal=Path(tmp) / "j.db")
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


# -- issue 14 cells: bulk against a bare loop, the ideal at 50 ms, the layers, the fault mix ----


def sized_picture(size: int, i: int) -> bytes:
    head = b"\xff\xd8\xff\xe0" + struct.pack(">q", i)
    return head + bytes(max(0, size - len(head)))


def sized_uploads(size: int, start: int, n: int) -> list[FaceUpload]:
    return [FaceUpload("1", sized_picture(size, i), name="bench") for i in range(start, start + n)]


def _bench_client(base_url: str, concurrency: int, backend: str | None) -> Any:
    from sunmi_face_async import AsyncSunmiFace

    extra: dict[str, Any] = {} if backend in (None, "httpx") else {"backend": backend}
    return AsyncSunmiFace(
        "BENCHAPP",
        "bench-key",
        sunmi_shop_no="1",
        base_url=base_url,
        max_connections=concurrency,
        timeout=60.0,
        **extra,
    )


def backends() -> list[str]:
    """httpx, and aiohttp when the client offers it (``backend="aiohttp"``)."""
    import inspect

    from sunmi_face_async import AsyncSunmiFace

    found = ["httpx"]
    if "backend" in inspect.signature(AsyncSunmiFace).parameters:
        try:
            import aiohttp  # noqa: F401
        except ImportError:
            pass
        else:
            found.append("aiohttp")
    return found


async def _enroll_rate(client: Any, items: list[FaceUpload], concurrency: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        job = enroll(client, items, concurrency=concurrency, journal=Path(tmp) / "j.db")
        report = await job.run()
        elapsed = time.perf_counter() - began
    assert report.counts[Outcome.DONE] == len(items), report.as_dict()
    return len(items) / elapsed


async def _bare_rate(client: Any, items: list[FaceUpload]) -> float:
    began = time.perf_counter()
    for item in items:
        await client.faces.add(item.group_id, pic=item.pic, name=item.name)
    return len(items) / (time.perf_counter() - began)


async def bare_runs() -> None:
    """Enroll at C = 1 against a bare ``faces.add`` loop: same server, same pictures."""
    from .server import BenchServer

    print("# enroll at C = 1 vs a bare faces.add loop (benchmark server, 0 ms; medians)")
    n = 300 if QUICK else 1000
    rounds = 3
    with BenchServer() as server:
        for backend in backends():
            for size in (2_000, 50_000, 500_000):
                rates: dict[str, list[float]] = {"bare": [], "enroll": []}
                start = 0
                async with _bench_client(server.base_url, 1, backend) as client:
                    await _bare_rate(client, sized_uploads(size, -50, 50))  # warm-up
                    for _ in range(rounds):
                        for label in ("bare", "enroll"):
                            items = sized_uploads(size, start, n)
                            start += n
                            if label == "bare":
                                rates[label].append(await _bare_rate(client, items))
                            else:
                                rates[label].append(await _enroll_rate(client, items, 1))
                bare, own = (statistics.median(rates[k]) for k in ("bare", "enroll"))
                print(
                    f"{backend:<7} {size // 1000:>3} KB  bare {bare:7.1f}/s  enroll {own:7.1f}/s"
                    f"  ratio {own / bare:.3f} (target >= 0.90)"
                    f"  per item +{(1 / own - 1 / bare) * 1e6:.0f} µs"
                )


async def ideal_runs() -> None:
    """Enroll at C = 64, 50 ms, 500 KB pictures: the fraction of C / latency."""
    from .server import BenchServer

    print("# enroll at C = 64, 50 ms, 500 KB (benchmark server): fraction of C / latency")
    concurrency, latency, size = 64, 0.05, 500_000
    n = 1500 if QUICK else 4000
    ideal = concurrency / latency
    with BenchServer(delay=latency) as server:
        for backend in backends():
            start = 0
            async with _bench_client(server.base_url, concurrency, backend) as client:
                await _enroll_rate(client, sized_uploads(size, -200, 200), concurrency)
                rates = []
                for _ in range(2):
                    server.stats(reset=True)
                    rates.append(
                        await _enroll_rate(client, sized_uploads(size, start, n), concurrency)
                    )
                    start += n
                    held = server.stats()["max_in_flight"]
            rate = statistics.median(rates)
            print(
                f"{backend:<7} {rate:7.1f}/s = {rate / ideal:.3f} of {ideal:.0f} "
                f"(target >= 0.85); at most {held} in flight"
            )


async def layer_runs() -> None:
    """The per-item cost (µs) of each bulk layer, measured alone at C = 1."""
    from sunmi_face_async.bulk._pictures import load_picture

    print("# per-item cost of each bulk layer (µs, one item at a time)")
    n = 2000
    for size in (2_000, 500_000):
        pics = [sized_picture(size, i) for i in range(200)]
        began = time.perf_counter()
        for pic in pics:
            await load_picture(pic)
        print(f"hash + read {size // 1000:>3} KB: {(time.perf_counter() - began) / 200 * 1e6:7.1f}")
    with tempfile.TemporaryDirectory() as tmp, Journal(Path(tmp) / "j.db") as journal:
        began = time.perf_counter()
        for i in range(n):
            await journal.claim(f"k{i}", "g", f"h{i}")
        claim = (time.perf_counter() - began) / n * 1e6
        began = time.perf_counter()
        for i in range(n):
            await journal.mark_done(f"k{i}", f"f{i}")
        done = (time.perf_counter() - began) / n * 1e6
        print(f"journal claim (one hop): {claim:7.1f}")
        print(f"journal mark_done (one hop): {done:7.1f}")
    for label, size in (("2 KB", 2_000), ("500 KB", 500_000)):
        items = sized_uploads(size, 0, n if size < 100_000 else 400)
        with tempfile.TemporaryDirectory() as tmp:
            stub = _StubClient()
            began = time.perf_counter()
            await enroll(stub, items, concurrency=1, journal=Path(tmp) / "j.db").run()
            whole = (time.perf_counter() - began) / len(items) * 1e6
        began = time.perf_counter()
        for item in items:
            await stub.faces.add(item.group_id, pic=item.pic)
        bare = (time.perf_counter() - began) / len(items) * 1e6
        print(f"enroll over a stub, {label}, C = 1: {whole - bare:7.1f} per item above the call")


#: The demo's fault mix (``sunmi-face demo``).
FAULT_MIX: dict[str, Any] = {
    "error_rates": {5000: 0.02, 503: 0.01},
    "throttle_rate": 0.01,
    "drop_rate": 0.01,
    "commit_then_timeout_rate": 0.02,
}


async def _mix_run(faulty: bool, n: int, seed: int) -> tuple[float, dict[str, Any]]:
    from collections import Counter

    from sunmi_face_async.testing import FakeSunmiCloud
    from sunmi_face_async.testing.faults import Faults

    faults = Faults(latency=0.02, jitter=0.01, **(FAULT_MIX if faulty else {}))
    cloud = FakeSunmiCloud(seed=seed, faults=faults)
    phases: dict[str, float] = {}
    kinds: Counter[str] = Counter()
    last = [0.0, ""]

    def on_event(event: Any) -> None:
        kinds[event.kind] += 1
        if event.kind == "phase":
            name = str(event.detail).split(":")[0].split(" ")[0] or "sending"
            phases[str(last[1])] = phases.get(str(last[1]), 0.0) + event.elapsed - last[0]
            last[0], last[1] = event.elapsed, name

    async with cloud.client() as client:
        group = await client.groups.create("mix", capacity=n * 2, customer_keys=["k"])
        items = [
            FaceUpload(group.group_id, sized_picture(2000, i), name=f"p{i}", external_key=f"k{i}")
            for i in range(n)
        ]
        with tempfile.TemporaryDirectory() as tmp:
            job = enroll(
                client,
                items,
                concurrency=16,
                journal=Path(tmp) / "j.db",
                external_key_slot=1,
                on_event=on_event,
            )
            began = time.perf_counter()
            report = await job.run()
            elapsed = time.perf_counter() - began
    phases[str(last[1])] = phases.get(str(last[1]), 0.0) + report.elapsed - last[0]
    done = report.counts[Outcome.DONE]
    detail = {
        "done": done,
        "outcomes": {o.value: k for o, k in report.counts.items() if k},
        "upload requests": cloud.stats.requests_by_endpoint.get("/face/add", 0),
        "list requests": cloud.stats.requests_by_endpoint.get("/face/group/getFaceList", 0),
        "limit cuts": kinds["limit"],
        "retries": kinds["retry"],
        "phases (s)": {k or "sending": round(v, 2) for k, v in phases.items()},
        "faults": dict(cloud.stats.faults_injected),
    }
    return done / elapsed, detail


async def fault_mix_runs() -> None:
    """Fault-free against the demo's fault mix, same run: 3,000 items, C = 16, 20-30 ms."""
    print("# the demo's fault mix vs fault-free (in-process fake, C = 16, 20-30 ms)")
    n = 1000 if QUICK else 3000
    rates: dict[bool, list[float]] = {False: [], True: []}
    for seed in (7, 8) if QUICK else (7, 8, 9):
        for faulty in (False, True):
            rate, detail = await _mix_run(faulty, n, seed)
            rates[faulty].append(rate)
            print(f"{'mix' if faulty else 'clean':<5} seed {seed}: {rate:6.1f} faces/s {detail}")
    clean, mix = statistics.median(rates[False]), statistics.median(rates[True])
    print(f"clean {clean:.1f}/s, mix {mix:.1f}/s: ratio {mix / clean:.3f} (target >= 0.80)")


RUNS: dict[str, Callable[[], Awaitable[None]]] = {
    "bare": bare_runs,
    "ideal": ideal_runs,
    "layers": layer_runs,
    "fault-mix": fault_mix_runs,
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
    QUICK = args.quick
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
