"""Scenario (a): the client's own cost per request, in microseconds.

Both sides run on the same ``httpx.MockTransport`` (no network, no server), so the difference
is what the client adds to httpx: building and signing the parameters, encoding the form or
multipart body, retries bookkeeping, parsing the envelope into models. The raw side posts an
equivalent, pre-signed form with a bare ``httpx.AsyncClient`` (for ``/face/add`` a multipart
body joined from pre-encoded parts, cheaper than httpx's own ``files=`` encoder) and decodes
the JSON. The two
sides run interleaved for several rounds and the medians are reported.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import json
import pstats
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from ._common import (
    APP_ID,
    APP_KEY,
    FORM_PATH,
    GROUP_ID,
    SHOP_NO,
    UPLOAD_PATH,
    RawMultipart,
    median,
    picture,
)
from ._common import signed_form as _signed_form

BASE_URL = "http://bench.invalid/openapi"
SMALL_PICTURE = picture(2048)
TARGET_US = 50.0

_GROUP_REPLY = json.dumps(
    {
        "code": 0,
        "msg": "succeed",
        "data": {
            "group_id": GROUP_ID,
            "group_name": "bench",
            "type": 5,
            "count": 3,
            "capacity": 1000,
            "last_modified_time": 1700000000,
            "description": "benchmark group",
            "customer_key1": "level",
        },
    }
).encode()
_ADD_REPLY = b'{"code":0,"msg":"succeed","data":{"face_id":"578968751459"}}'


def _handler(request: httpx.Request) -> httpx.Response:
    body = _ADD_REPLY if request.url.path.endswith(UPLOAD_PATH) else _GROUP_REPLY
    return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})


def mock_transport() -> httpx.MockTransport:
    return httpx.MockTransport(_handler)


Loop = Callable[[int], Awaitable[None]]


def _raw_loops(http: httpx.AsyncClient) -> dict[str, Loop]:
    # URLs parsed once, as our transport does: httpx's URL parsing costs tens of µs per call.
    form_url, upload_url = httpx.URL(BASE_URL + FORM_PATH), httpx.URL(BASE_URL + UPLOAD_PATH)
    form = _signed_form({"group_id": GROUP_ID})
    upload_form = _signed_form({"group_id": GROUP_ID, "name": "bench"})

    async def form_loop(n: int) -> None:
        for _ in range(n):
            reply = await http.post(form_url, data=form)
            if reply.json()["code"] != 0:
                raise RuntimeError("unexpected reply")

    multipart = RawMultipart(upload_form)

    async def upload_loop(n: int) -> None:
        for _ in range(n):
            body = multipart.body(SMALL_PICTURE)
            reply = await http.post(upload_url, content=body, headers=multipart.headers)
            if reply.json()["code"] != 0:
                raise RuntimeError("unexpected reply")

    return {"form": form_loop, "multipart": upload_loop}


def _our_loops(client: Any) -> dict[str, Loop]:
    async def form_loop(n: int) -> None:
        for _ in range(n):
            await client.groups.get(GROUP_ID)

    async def upload_loop(n: int) -> None:
        for _ in range(n):
            await client.faces.add(GROUP_ID, pic=SMALL_PICTURE, name="bench")

    return {"form": form_loop, "multipart": upload_loop}


def our_client(**kwargs: Any) -> Any:
    from sunmi_face_async import AsyncSunmiFace

    return AsyncSunmiFace(
        APP_ID,
        APP_KEY,
        sunmi_shop_no=SHOP_NO,
        base_url=BASE_URL,
        transport=mock_transport(),
        **kwargs,
    )


async def _timed(loop: Loop, n: int) -> float:
    start = time.perf_counter()
    await loop(n)
    return (time.perf_counter() - start) / n * 1e6


async def _measure(rounds: int, n: int, include_ours: bool) -> list[dict[str, Any]]:
    rows = []
    async with httpx.AsyncClient(transport=mock_transport()) as http:
        raw = _raw_loops(http)
        client = our_client() if include_ours else None
        try:
            ours = _our_loops(client) if client is not None else {}
            for kind in ("form", "multipart"):
                samples: dict[str, list[float]] = {"raw": [], "ours": []}
                sides = [("raw", raw[kind])] + ([("ours", ours[kind])] if ours else [])
                for _side, loop in sides:  # warm-up: imports, caches, connection pool
                    await loop(50)
                for round_ in range(rounds):
                    for side, loop in sides if round_ % 2 == 0 else sides[::-1]:
                        samples[side].append(await _timed(loop, n))
                row: dict[str, Any] = {
                    "kind": kind,
                    "endpoint": FORM_PATH if kind == "form" else UPLOAD_PATH + " (2 KB picture)",
                    "raw_us": median(samples["raw"]),
                    "rounds": rounds,
                    "requests_per_round": n,
                }
                if ours:
                    row["ours_us"] = median(samples["ours"])
                    # Paired by round, so that drift of a shared machine cancels out.
                    differences = [
                        o - r for o, r in zip(samples["ours"], samples["raw"], strict=True)
                    ]
                    row["overhead_us"] = median(differences)
                    row["per_round_overhead_us"] = differences
                rows.append(row)
        finally:
            if client is not None:
                await client.aclose()
    return rows


def run(*, rounds: int = 7, n: int = 1000, include_ours: bool = True) -> list[dict[str, Any]]:
    """Median µs per request for raw httpx and ours, per endpoint kind."""
    return asyncio.run(_measure(rounds, n, include_ours))


def profile(n: int = 3000, top: int = 30) -> str:
    """cProfile of our client alone on the mock transport, by cumulative and by own time."""

    async def go() -> None:
        client = our_client()
        try:
            loops = _our_loops(client)
            await loops["form"](50)
            await loops["multipart"](50)
            profiler = cProfile.Profile()
            profiler.enable()
            await loops["form"](n)
            await loops["multipart"](n)
            profiler.disable()
        finally:
            await client.aclose()
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats("cumulative").print_stats(top)
        stats.sort_stats("tottime").print_stats(top)
        out.append(text.getvalue())

    out: list[str] = []
    asyncio.run(go())
    return out[0]


if __name__ == "__main__":
    for result in run(include_ours=True):
        print(result)
