"""The clients compared in the throughput scenario, each driven the way its users drive it.

Every driver sends requests against the benchmark server until a deadline passes (or, for
``gather``, a fixed count chosen from the others' rate), then waits for what is in flight,
and returns the number of requests that completed. A warm-up of ``C`` requests opens the
connections first, outside the timing.

- ``ours-httpx`` / ``ours-aiohttp``: the client under test on each of its backends. Uploads go
  through ``sunmi_face_async.bulk.enroll`` (concurrency C, adaptive off) fed by a lazy
  generator; form POSTs (``groups.get``) are driven by C worker tasks. ``max_connections=C``.
- ``httpx``: one stock ``httpx.AsyncClient`` (``max_connections=C``), C worker tasks, pre-signed
  forms; uploads as a pre-encoded multipart body (``RawMultipart``).
- ``aiohttp``: one ``aiohttp.ClientSession`` (``TCPConnector(limit=C)``), C worker tasks, the
  same pre-signed forms and pre-encoded multipart bodies.
- ``sequential``: our client, one ``await`` after the other (C is irrelevant).
- ``gather``: our client, ``asyncio.gather`` over all N calls at once, ``max_connections=C``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
import yarl

from ._common import (
    APP_ID,
    APP_KEY,
    FORM_PATH,
    GROUP_ID,
    SHOP_NO,
    UPLOAD_PATH,
    RawMultipart,
    picture,
)
from ._common import signed_form as _signed_form

TIMEOUT = 60.0


@dataclass(frozen=True)
class Payload:
    """A kind of request: a form POST (size 0) or a multipart upload of ``size`` bytes."""

    name: str
    size: int = 0

    @property
    def is_upload(self) -> bool:
        return self.size > 0


FORM = Payload("form")
UPLOADS = {kb: Payload(f"upload {kb} KB", kb * 1000) for kb in (50, 200, 500)}


@dataclass
class Run:
    """What one driver did: requests completed, seconds, failures seen."""

    completed: int
    elapsed: float
    failed: int = 0

    @property
    def rps(self) -> float:
        return self.completed / self.elapsed if self.elapsed > 0 else 0.0


class _Tickets:
    """Hands out request numbers until the deadline; shared by all workers of one run."""

    def __init__(self, duration: float, start_index: int = 0) -> None:
        self.deadline = time.perf_counter() + duration
        self.issued = start_index

    def __iter__(self) -> Iterator[int]:
        return self

    def __next__(self) -> int:
        if time.perf_counter() >= self.deadline:
            raise StopIteration
        self.issued += 1
        return self.issued


async def _workers(
    concurrency: int, tickets: Iterator[int], call: Callable[[int], Awaitable[Any]]
) -> int:
    done = 0

    async def worker() -> None:
        nonlocal done
        for index in tickets:
            await call(index)
            done += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


async def _timed_workers(
    concurrency: int, duration: float, call: Callable[[int], Awaitable[Any]]
) -> Run:
    await _workers(concurrency, iter(range(-concurrency, 0)), call)  # warm-up
    start = time.perf_counter()
    done = await _workers(concurrency, _Tickets(duration), call)
    return Run(done, time.perf_counter() - start)


def _our_client(base_url: str, concurrency: int, backend: str = "httpx") -> Any:
    from sunmi_face_async import AsyncSunmiFace

    return AsyncSunmiFace(
        APP_ID,
        APP_KEY,
        sunmi_shop_no=SHOP_NO,
        base_url=base_url,
        max_connections=concurrency,
        timeout=TIMEOUT,
        backend=backend,
    )


def _our_call(client: Any, payload: Payload) -> Callable[[int], Awaitable[Any]]:
    if payload.is_upload:
        return lambda i: client.faces.add(GROUP_ID, pic=picture(payload.size, i), name="bench")
    return lambda i: client.groups.get(GROUP_ID)


async def run_ours(
    base_url: str, payload: Payload, concurrency: int, duration: float, backend: str = "httpx"
) -> Run:
    async with _our_client(base_url, concurrency, backend) as client:
        if not payload.is_upload:
            return await _timed_workers(concurrency, duration, _our_call(client, payload))
        from sunmi_face_async.bulk import FaceUpload, enroll

        def uploads(tickets: Iterator[int]) -> Iterator[Any]:
            for i in tickets:
                yield FaceUpload(group_id=GROUP_ID, pic=picture(payload.size, i), name="bench")

        async def one_job(tickets: Iterator[int]) -> tuple[int, int]:
            done = failed = 0
            job = enroll(client, uploads(tickets), concurrency=concurrency, adaptive=False)
            async for result in job:
                if result.outcome.name == "DONE":
                    done += 1
                else:
                    failed += 1
            return done, failed

        await one_job(iter(range(10_000_000, 10_000_000 + concurrency)))  # warm-up
        start = time.perf_counter()
        done, failed = await one_job(_Tickets(duration))
        return Run(done, time.perf_counter() - start, failed)


async def run_ours_aiohttp(
    base_url: str, payload: Payload, concurrency: int, duration: float
) -> Run:
    return await run_ours(base_url, payload, concurrency, duration, backend="aiohttp")


async def run_sequential(base_url: str, payload: Payload, concurrency: int, duration: float) -> Run:
    async with _our_client(base_url, 1) as client:
        return await _timed_workers(1, duration, _our_call(client, payload))


async def run_gather(
    base_url: str, payload: Payload, concurrency: int, count: int, limit: float
) -> Run:
    """All ``count`` calls at once; whatever is unfinished after ``limit`` seconds is cancelled.

    The cut keeps a slow cell bounded in time (a pool with hundreds of queued requests can
    crawl); the rate is then what completed within the limit.
    """
    async with _our_client(base_url, concurrency) as client:
        call = _our_call(client, payload)
        await asyncio.gather(*(call(-i) for i in range(1, concurrency + 1)))
        start = time.perf_counter()
        tasks = [asyncio.ensure_future(call(i)) for i in range(count)]
        done, pending = await asyncio.wait(tasks, timeout=limit)
        elapsed = time.perf_counter() - start
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        failed = sum(1 for task in done if task.exception() is not None)
        return Run(len(done) - failed, elapsed, failed)


async def run_httpx(base_url: str, payload: Payload, concurrency: int, duration: float) -> Run:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=TIMEOUT) as http:
        if payload.is_upload:
            url = httpx.URL(base_url + UPLOAD_PATH)
            form = _signed_form({"group_id": GROUP_ID, "name": "bench"})

            multipart = RawMultipart(form)

            async def call(i: int) -> None:
                body = multipart.body(picture(payload.size, i))
                reply = await http.post(url, content=body, headers=multipart.headers)
                _check(reply.json())

        else:
            url = httpx.URL(base_url + FORM_PATH)
            form = _signed_form({"group_id": GROUP_ID})

            async def call(i: int) -> None:
                reply = await http.post(url, data=form)
                _check(reply.json())

        return await _timed_workers(concurrency, duration, call)


async def run_aiohttp(base_url: str, payload: Payload, concurrency: int, duration: float) -> Run:
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        if payload.is_upload:
            url = yarl.URL(base_url + UPLOAD_PATH)
            form = _signed_form({"group_id": GROUP_ID, "name": "bench"})

            multipart = RawMultipart(form)

            async def call(i: int) -> None:
                body = multipart.body(picture(payload.size, i))
                async with session.post(url, data=body, headers=multipart.headers) as reply:
                    _check(await reply.json())

        else:
            url = yarl.URL(base_url + FORM_PATH)
            form = _signed_form({"group_id": GROUP_ID})

            async def call(i: int) -> None:
                async with session.post(url, data=form) as reply:
                    _check(await reply.json())

        return await _timed_workers(concurrency, duration, call)


def _check(envelope: Any) -> None:
    if envelope.get("code") != 0:
        raise RuntimeError(f"unexpected reply: {envelope!r}")
