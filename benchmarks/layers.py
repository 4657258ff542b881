"""Scenario (a2): what each of our layers costs per request, in µs, with aiohttp underneath.

Two views, both CPU-bound so a shared machine's noise shows as spread, not as bias:

- **Layers in isolation** (min over rounds of the mean of many calls): signing, encoding the
  form and a 50 KB multipart body (signing included), interpreting the envelope, converting
  the ``data`` into a model, and the retry loop with the pools' bookkeeping (``Transport.call``
  over a stub exchange that answers at once, minus the encoding and interpretation it runs).
- **End to end, client CPU per request** against the loopback server (``time.process_time``
  of this process over a sequential loop, so the server's time and the waiting are left out):
  raw aiohttp posting a pre-signed body, ours on aiohttp, ours on httpx, for ``groups.get`` and
  a 50 KB ``faces.add``. Ours-aiohttp minus raw aiohttp is everything we add on that path.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

from ._common import APP_ID, APP_KEY, FORM_PATH, GROUP_ID, SHOP_NO, UPLOAD_PATH, RawMultipart
from ._common import picture as _picture
from ._common import signed_form as _signed_form
from .client_overhead import _GROUP_REPLY

PICTURE = _picture(50_000)


def _mean_us(function: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        function()
    return (time.perf_counter() - start) / n * 1e6


class _Reply:
    status_code = 200
    reason_phrase = "OK"
    headers: dict[str, str] = {}  # noqa: RUF012


def isolated(n: int = 500, rounds: int = 15) -> dict[str, float]:
    """µs per request of each layer on its own: all layers are timed in every round, one
    after the other, and each keeps its least disturbed round (the minimum). The retry loop
    is the whole call's minimum less the minima of the encoding and parsing it runs."""
    return asyncio.run(_isolated(n, rounds))


async def _isolated(n: int, rounds: int) -> dict[str, float]:
    from sunmi_face_async import _endpoints as ep
    from sunmi_face_async import _transport
    from sunmi_face_async._aiohttp import AiohttpPools
    from sunmi_face_async._convert import parse_group
    from sunmi_face_async._retry import RetryPolicy
    from sunmi_face_async._transport import Transport, _Secret

    class Instant(AiohttpPools):
        async def _exchange(self, request: Any) -> tuple[Any, bytes | None]:
            return _Reply(), _GROUP_REPLY

    base = "http://bench.invalid/openapi"
    transport = Transport(
        APP_ID,
        _Secret(APP_KEY),
        base_url=base,
        timeout=30.0,
        retry=RetryPolicy(),
        max_connections=16,
        http_client=None,
        transport=None,
        backend="aiohttp",
    )
    transport.connections = Instant(16, 30.0, base)
    shop = {"sunmi_shop_no": SHOP_NO}
    params = {"group_id": GROUP_ID}
    business = transport.business(params, shop)
    upload = transport.business({"group_id": GROUP_ID, "name": "bench"}, shop)
    fields = {**business, "app_id": APP_ID, "timestamp": "1700000000", "random": "123456"}
    key = _Secret(APP_KEY)
    reply = _Reply()
    data = _transport._envelope(_GROUP_REPLY)
    assert data is not None
    layers: dict[str, Callable[[], object]] = {
        "sign": lambda: key.sign(fields),
        "encode form (incl. sign)": lambda: transport.encode(ep.GROUP_INFO, business, None),
        "encode 50 KB multipart": lambda: transport.encode(ep.FACE_ADD, upload, PICTURE),
        "parse envelope": lambda: _transport._interpret(reply, _GROUP_REPLY, ep.GROUP_INFO),
        "model conversion (FaceGroup)": lambda: parse_group(data[2]),
    }
    samples: dict[str, list[float]] = {name: [] for name in layers}
    calls: list[float] = []
    for _ in range(rounds):
        for name, function in layers.items():
            samples[name].append(_mean_us(function, n))
        start = time.perf_counter()
        for _ in range(n):
            await transport.call(ep.GROUP_INFO, params, shop)
        calls.append((time.perf_counter() - start) / n * 1e6)
    out = {name: min(values) for name, values in samples.items()}
    out["whole call over an instant exchange (form)"] = min(calls)
    # Least disturbed estimates on both sides of the difference.
    own = min(calls) - out["encode form (incl. sign)"] - out["parse envelope"]
    out["retry loop + pools bookkeeping"] = own
    return out


async def _cpu_per_request(call: Callable[[], Any], n: int) -> float:
    for _ in range(50):
        await call()
    start = time.process_time()
    for _ in range(n):
        await call()
    return (time.process_time() - start) / n * 1e6


async def _end_to_end(base_url: str, n: int, rounds: int) -> dict[str, dict[str, float]]:
    import aiohttp

    from ._clients import _our_client

    samples: dict[str, dict[str, list[float]]] = {}
    form = _signed_form({"group_id": GROUP_ID})
    multipart = RawMultipart(_signed_form({"group_id": GROUP_ID, "name": "bench"}))
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session,
        _our_client(base_url, 1, "aiohttp") as ours_aiohttp,
        _our_client(base_url, 1, "httpx") as ours_httpx,
    ):

        async def raw_form() -> None:
            async with session.post(base_url + FORM_PATH, data=form) as reply:
                await reply.json()

        async def raw_upload() -> None:
            body = multipart.body(PICTURE)
            headers = multipart.headers
            async with session.post(base_url + UPLOAD_PATH, data=body, headers=headers) as r:
                await r.json()

        calls: dict[str, dict[str, Callable[[], Any]]] = {
            "form": {
                "raw aiohttp": raw_form,
                "ours-aiohttp": lambda: ours_aiohttp.groups.get(GROUP_ID),
                "ours-httpx": lambda: ours_httpx.groups.get(GROUP_ID),
            },
            "upload 50 KB": {
                "raw aiohttp": raw_upload,
                "ours-aiohttp": lambda: ours_aiohttp.faces.add(GROUP_ID, pic=PICTURE, name="b"),
                "ours-httpx": lambda: ours_httpx.faces.add(GROUP_ID, pic=PICTURE, name="b"),
            },
        }
        for kind, sides in calls.items():
            for round_ in range(rounds):
                order = list(sides.items())
                for name, call in order if round_ % 2 == 0 else order[::-1]:
                    value = await _cpu_per_request(call, n)
                    samples.setdefault(kind, {}).setdefault(name, []).append(value)
    return {
        kind: {name: statistics.median(values) for name, values in sides.items()}
        for kind, sides in samples.items()
    }


def uvloop_enroll(
    base_url: str, *, size: int = 50_000, concurrency: int = 16, duration: float, rounds: int
) -> dict[str, Any] | None:
    """Bulk enroll's uploads per second on asyncio's loop and on uvloop, both backends
    (interleaved rounds, medians); None when uvloop is not installed."""
    try:
        import uvloop
    except ImportError:
        return None
    from ._clients import Payload, run_ours

    payload = Payload(f"upload {size // 1000} KB", size)
    samples: dict[str, list[float]] = {}
    for round_ in range(rounds):
        runners = [("asyncio", asyncio.run), ("uvloop", uvloop.run)]
        for loop_name, runner in runners if round_ % 2 == 0 else runners[::-1]:
            for backend in ("httpx", "aiohttp"):
                run = runner(run_ours(base_url, payload, concurrency, duration, backend))
                samples.setdefault(f"ours-{backend} on {loop_name}", []).append(run.rps)
    rates = {name: statistics.median(values) for name, values in samples.items()}
    items = sum(len(v) for v in samples.values())
    return {"size": size, "concurrency": concurrency, "items": items, "rates": rates}


def run(base_url: str | None, *, quick: bool = False) -> dict[str, Any]:
    """Both views, and enroll with and without uvloop; ``base_url`` None leaves the views
    that need the loopback server out."""
    n, rounds = (200, 3) if quick else (500, 15)
    result: dict[str, Any] = {"isolated_us": isolated(n, rounds)}
    if base_url is not None:
        result["end_to_end_cpu_us"] = asyncio.run(
            _end_to_end(base_url, 100 if quick else 500, 1 if quick else 3)
        )
        result["uvloop"] = uvloop_enroll(
            base_url, duration=0.3 if quick else 2.0, rounds=1 if quick else 3
        )
    return result


if __name__ == "__main__":
    from .server import BenchServer

    with BenchServer() as server:
        for key, value in run(server.base_url).items():
            print(key, value)
