"""The enroll cells of issue 14, run by ``benchmarks.enroll_perf`` (see its docstring):
enroll against a bare ``faces.add`` loop at C = 1, the fraction of C / latency at C = 64,
50 ms and 500 KB, the per-item cost of each bulk layer, and the demo's fault mix against
fault-free in the same run."""

from __future__ import annotations

import statistics
import struct
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from sunmi_face_async.bulk import FaceUpload, Journal, Outcome, enroll

QUICK = False  # set by enroll_perf --quick: smaller runs


class StubFaces:
    """``faces.add`` answering at once: the bulk layer's own cost, with no wire."""

    def __init__(self) -> None:
        self.count = 0

    async def add(self, group_id: str, **_: Any) -> str:
        self.count += 1
        await anyio.lowlevel.checkpoint()
        return f"face-{self.count}"


class StubClient:
    def __init__(self) -> None:
        self.faces = StubFaces()


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
                cpu: dict[str, list[float]] = {"bare": [], "enroll": []}
                start = 0
                async with _bench_client(server.base_url, 1, backend) as client:
                    await _bare_rate(client, sized_uploads(size, -50, 50))  # warm-up
                    for _ in range(rounds):
                        for label in ("bare", "enroll"):
                            items = sized_uploads(size, start, n)
                            start += n
                            began = time.process_time()
                            if label == "bare":
                                rates[label].append(await _bare_rate(client, items))
                            else:
                                rates[label].append(await _enroll_rate(client, items, 1))
                            cpu[label].append((time.process_time() - began) / n * 1e6)
                bare, own = (statistics.median(rates[k]) for k in ("bare", "enroll"))
                cpu_bare, cpu_own = (statistics.median(cpu[k]) for k in ("bare", "enroll"))
                print(
                    f"{backend:<7} {size // 1000:>3} KB  bare {bare:7.1f}/s  enroll {own:7.1f}/s"
                    f"  ratio {own / bare:.3f} (target >= 0.90)"
                    f"  per item +{(1 / own - 1 / bare) * 1e6:.0f} µs;"
                    f" client CPU per item {cpu_bare:.0f} vs {cpu_own:.0f} µs"
                    f" (ratio {cpu_bare / cpu_own:.3f})"
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

    print("# per-item cost of each bulk layer (µs of this process's CPU, one item at a time)")
    n = 2000
    for size in (2_000, 500_000):
        pics = [sized_picture(size, i) for i in range(200)]
        began = time.process_time()
        for pic in pics:
            await load_picture(pic)
        print(f"hash + read {size // 1000:>3} KB: {(time.process_time() - began) / 200 * 1e6:7.1f}")
    with tempfile.TemporaryDirectory() as tmp, Journal(Path(tmp) / "j.db") as journal:
        began = time.process_time()
        for i in range(n):
            await journal.claim(f"k{i}", "g", f"h{i}")
        claim = (time.process_time() - began) / n * 1e6
        began = time.process_time()
        for i in range(n):
            await journal.mark_done(f"k{i}", f"f{i}")
        done = (time.process_time() - began) / n * 1e6
        print(f"journal claim (one hop): {claim:7.1f}")
        print(f"journal mark_done (one hop): {done:7.1f}")
    for label, size in (("2 KB", 2_000), ("500 KB", 500_000)):
        items = sized_uploads(size, 0, n if size < 100_000 else 400)
        with tempfile.TemporaryDirectory() as tmp:
            stub = StubClient()
            began = time.process_time()
            await enroll(stub, items, concurrency=1, journal=Path(tmp) / "j.db").run()
            whole = (time.process_time() - began) / len(items) * 1e6
        began = time.process_time()
        for item in items:
            await stub.faces.add(item.group_id, pic=item.pic)
        bare = (time.process_time() - began) / len(items) * 1e6
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
        if event.kind == "limit" and "healthy" not in event.detail:
            kinds["cut: " + str(event.detail).rsplit(": ", 1)[-1]] += 1
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
        "limit cuts": {k[5:]: v for k, v in kinds.items() if k.startswith("cut: ")},
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
