"""The web-app recipe (examples/webapp) under uvicorn on loopback against the fake over HTTP.

Three event loops, three threads' worth of sockets: the fake cloud (``ThreadedFakeServer``),
the app under test (its lifespan opens one client from the ``SUNMI_*`` variables) and the
test's own HTTP client sending concurrent requests. Faults are set per endpoint, so a slow
SUNMI call (5 s on ``/face/getInfo``) and fast ones run side by side; every route gives its
SUNMI call a 1 s deadline.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import httpx
import pytest

from sunmi_face_async import make_nonce, sign_params
from sunmi_face_async.testing import (
    FAKE_FACE_ADDED_EVENT,
    FakeSunmiCloud,
    Faults,
    ThreadedFakeServer,
)
from sunmi_face_async.testing.pictures import face_png

from ._serve import serve

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "webapp"
DEADLINE = 1.0
SLOW = 5.0
#: Generous: the deadline plus scheduling on a loaded machine.
LATE = DEADLINE + 1.5


def _framework(name: str) -> ModuleType:
    if name == "fastapi":
        pytest.importorskip(
            "fastapi", reason="FastAPI is not installed: its variant of the recipe needs it"
        )
    return importlib.import_module(f"{name}_app")


@pytest.fixture(scope="module")
def fake() -> Iterator[ThreadedFakeServer]:
    with ThreadedFakeServer(FakeSunmiCloud(push_retry_delays=(0.0, 0.0, 0.0, 0.0))) as server:
        yield server


@pytest.fixture(params=["starlette", "fastapi"])
async def app_url(
    request: pytest.FixtureRequest, fake: ThreadedFakeServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[str]:
    """The example app of one framework, served on loopback, its client pointed at the fake."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    module = _framework(request.param)
    for name, value in fake.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SUNMI_SHOP_ID", raising=False)
    monkeypatch.delenv("SUNMI_RETRIES", raising=False)
    fake.cloud.faults = Faults()
    with serve(module.create_app(deadline=DEADLINE)) as url:
        yield url
    fake.cloud.faults = Faults()


_shops = iter(range(880_001, 881_000))


@pytest.fixture
async def shop(fake: ThreadedFakeServer) -> tuple[str, str, str]:
    """A store of the test's own with one group and one face: (shop, group_id, face_id)."""
    number = str(next(_shops))
    async with fake.client(sunmi_shop_no=number) as client:
        group = await client.groups.create("Members")
        face_id = await client.faces.add(group.group_id, pic=face_png(1), name="Ann")
    return number, group.group_id, face_id


async def _timed(http: httpx.AsyncClient, method: str, url: str, **kw: Any) -> dict[str, Any]:
    started = time.monotonic()
    response = await http.request(method, url, **kw)
    return {
        "what": f"{method} {url.split('/shops/')[-1]}",
        "status": response.status_code,
        "seconds": round(time.monotonic() - started, 3),
        "body": response.json(),
        "headers": response.headers,
    }


async def test_concurrent_requests_and_calls_that_outlast_the_route_deadline(
    app_url: str, fake: ThreadedFakeServer, shop: tuple[str, str, str]
) -> None:
    number, _, face_id = shop
    fake.cloud.faults = Faults(latency=SLOW, endpoints={"/face/getInfo"})
    base = f"{app_url}/shops/{number}"
    calls: list[tuple[str, str, dict[str, Any]]] = [
        *[("GET", f"{base}/faces/{face_id}", {})] * 3,  # SUNMI takes 5 s: past the deadline
        *[("GET", f"{base}/groups", {})] * 3,  # fast
        ("POST", f"{base}/groups", {"json": {"name": ""}}),  # refused before any call
        ("POST", f"{base}/groups", {"json": {"name": "VIP"}}),
    ]
    results: list[dict[str, Any]] = []
    async with httpx.AsyncClient(timeout=30) as http:

        async def one(method: str, url: str, kw: dict[str, Any]) -> None:
            results.append(await _timed(http, method, url, **kw))

        started = time.monotonic()
        async with anyio.create_task_group() as tg:
            for method, url, kw in calls:
                tg.start_soon(one, method, url, kw)
        wall = time.monotonic() - started
    print(f"\n{len(results)} concurrent requests in {wall:.3f} s:")
    for result in sorted(results, key=lambda r: r["seconds"]):
        print(f"  {result['status']} {result['seconds']:6.3f} s  {result['what']}")

    slow = [r for r in results if "/faces/" in r["what"]]
    assert [r["status"] for r in slow] == [504] * 3
    for r in slow:
        assert r["body"]["error"] == "deadline"
        assert "1 s deadline ran out during attempt 1" in r["body"]["detail"]
        assert DEADLINE - 0.05 <= r["seconds"] <= LATE, r
    fast = [r for r in results if r["what"].endswith("/groups") and r["what"].startswith("GET")]
    assert [r["status"] for r in fast] == [200] * 3
    assert all([g["name"] for g in r["body"]][-1] == "Members" for r in fast)
    [refused] = [r for r in results if r["status"] == 422]
    assert refused["body"]["field"] == "name"
    [created] = [r for r in results if r["status"] == 201]
    assert created["body"]["name"] == "VIP"
    assert wall <= LATE  # the slow calls ran side by side, not one after another
    # The fake saw the three slow calls and no retry of them: the deadline left no room.
    assert fake.cloud.stats.requests_by_endpoint["/face/getInfo"] >= 3
    assert [g.name for g in fake.cloud.groups_of(number)][-1] == "VIP"


async def test_errors_map_to_http(
    app_url: str, fake: ThreadedFakeServer, shop: tuple[str, str, str]
) -> None:
    number, group_id, _ = shop
    base = f"{app_url}/shops/{number}"
    picture = face_png(2)
    async with httpx.AsyncClient(timeout=30) as http:
        missing = await _timed(http, "GET", f"{base}/faces/578968819999")
        assert (missing["status"], missing["body"]["error"]) == (404, "not_found")

        fake.cloud.faults = Faults(
            throttle_rate=1.0, retry_after=3, endpoints={"/face/group/getList"}
        )
        throttled = await _timed(http, "GET", f"{base}/groups")
        assert (throttled["status"], throttled["headers"]["retry-after"]) == (429, "3")
        assert throttled["seconds"] <= LATE

        fake.cloud.faults = Faults(commit_then_timeout_rate=1.0, endpoints={"/face/add"})
        unknown = await _timed(
            http, "POST", f"{base}/groups/{group_id}/faces?name=Bob", content=picture
        )
        assert unknown["status"] == 502
        assert unknown["body"]["error"] == "outcome_unknown"
        assert "may have been applied: check before sending it again" in unknown["body"]["detail"]
        # ... and it was indeed applied: the fake holds the face.
        assert [f.name for f in fake.cloud.faces_in(group_id, number)] == ["Ann", "Bob"]

        fake.cloud.faults = Faults(latency=SLOW, endpoints={"/face/add"})
        cut = await _timed(http, "POST", f"{base}/groups/{group_id}/faces?name=Cy", content=picture)
        assert (cut["status"], cut["body"]["error"]) == (502, "outcome_unknown")
        assert "deadline ran out" in cut["body"]["detail"]
        assert DEADLINE - 0.05 <= cut["seconds"] <= LATE
        fake.cloud.faults = Faults()
        print(
            f"\n404 {missing['seconds']} s, 429 {throttled['seconds']} s, "
            f"502 (commit then drop) {unknown['seconds']} s, 502 (write past the deadline) "
            f"{cut['seconds']} s"
        )


async def test_sunmi_unreachable_is_503(
    fake: ThreadedFakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLES))
    module = _framework("starlette")
    for name, value in fake.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SUNMI_BASE_URL", "http://127.0.0.1:9/openapi")  # nothing listens
    monkeypatch.setenv("SUNMI_RETRIES", "0")
    with serve(module.create_app(deadline=DEADLINE)) as url:
        async with httpx.AsyncClient(timeout=30) as http:
            down = await _timed(http, "GET", f"{url}/shops/880999/groups")
    assert (down["status"], down["body"]["error"]) == (503, "unavailable")
    assert down["headers"]["retry-after"] == "5"
    assert "the request was not sent" in down["body"]["detail"]


def _callback(app_id: str, app_key: str, shop: str, payload: dict[str, Any]) -> dict[str, str]:
    """A push callback signed as SUNMI signs one (written here, not by the fake)."""
    form = {
        "app_id": app_id,
        "event": str(FAKE_FACE_ADDED_EVENT),
        "payload": json.dumps(payload),
        "random": make_nonce(),
        "sunmi_shop_no": shop,
        "timestamp": str(int(time.time())),
    }
    form["sign"] = sign_params(form, app_key)
    return form


async def test_push_callbacks_reach_the_route_once(
    app_url: str, fake: ThreadedFakeServer, shop: tuple[str, str, str]
) -> None:
    number, group_id, _ = shop
    async with fake.client(sunmi_shop_no=number) as client:
        await client.hooks.add(f"{app_url}/sunmi/push", [FAKE_FACE_ADDED_EVENT])
    async with httpx.AsyncClient(timeout=30) as http:
        added = await http.post(
            f"{app_url}/shops/{number}/groups/{group_id}/faces?name=Dee", content=face_png(3)
        )
        assert added.status_code == 201
        [record] = await fake.cloud.deliver_pushes()
        assert (record.delivered, record.status, record.attempts) == (True, 200, 1)
        [event] = (await http.get(f"{app_url}/push-events")).json()
        assert event["payload"]["face_id"] == added.json()["face_id"]
        assert event["shop"] == number

        form = _callback(fake.app_id, fake.app_key, number, {"face_id": "1", "code": 0})
        first = await http.post(f"{app_url}/sunmi/push", data=form)
        again = await http.post(f"{app_url}/sunmi/push", data=form)
        forged = await http.post(f"{app_url}/sunmi/push", data={**form, "sign": "0" * 32})
        assert (first.status_code, first.json()) == (200, {"status": "processed"})
        assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
        assert forged.status_code == 401
        assert len((await http.get(f"{app_url}/push-events")).json()) == 2


async def _post_part_of_a_big_upload(url: str, path: str, length: str, sent: int) -> bytes:
    """POST ``path`` with the ``length`` header, send ``sent`` bytes, read what comes back.

    ``length`` is a ``Content-Length`` far above what is sent, or ``chunked`` (chunks without
    the last one). The rest never comes: an app that reads the whole body before checking
    its size waits for ever, so the answer is awaited with a bound (empty: none in time).
    """
    host, port = url.removeprefix("http://").split(":")
    stream = await anyio.connect_tcp(host, int(port))
    async with stream:
        header = (
            "Transfer-Encoding: chunked" if length == "chunked" else f"Content-Length: {length}"
        )
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: image/png\r\n{header}\r\n\r\n"
        )
        await stream.send(head.encode())
        chunk = b"\x00" * 65536
        if length == "chunked":
            chunk = b"10000\r\n" + chunk + b"\r\n"
        for _ in range(sent // 65536):
            await stream.send(chunk)
        answer = b""
        with anyio.move_on_after(LATE):
            while not answer.endswith(b"}"):
                answer += await stream.receive()
        return answer


@pytest.mark.parametrize("length", [str(50 * 1024 * 1024), "chunked"])
async def test_an_oversized_picture_is_refused_before_the_whole_body_arrives(
    app_url: str, fake: ThreadedFakeServer, shop: tuple[str, str, str], length: str
) -> None:
    number, group_id, _ = shop
    path = f"/shops/{number}/groups/{group_id}/faces?name=Big"
    started = time.monotonic()
    answer = await _post_part_of_a_big_upload(app_url, path, length, 1536 * 1024)
    seconds = round(time.monotonic() - started, 3)
    assert answer.startswith(b"HTTP/1.1 422"), (seconds, answer[:200])
    assert b'"field":"pic"' in answer
    assert [f.name for f in fake.cloud.faces_in(group_id, number)] == ["Ann"]  # nothing sent
    print(f"\n{length}, 1.5 MB sent: {answer.splitlines()[0].decode()} after {seconds} s")


@pytest.mark.parametrize("length", [str(50 * 1024 * 1024), "chunked"])
async def test_an_oversized_json_body_is_refused_before_it_all_arrives(
    app_url: str, fake: ThreadedFakeServer, shop: tuple[str, str, str], length: str
) -> None:
    number, _, _ = shop
    before = len(fake.cloud.groups_of(number))
    started = time.monotonic()
    answer = await _post_part_of_a_big_upload(app_url, f"/shops/{number}/groups", length, 131072)
    seconds = round(time.monotonic() - started, 3)
    assert answer.startswith(b"HTTP/1.1 422"), (seconds, answer[:200])
    assert b'"field":"body"' in answer
    assert len(fake.cloud.groups_of(number)) == before
    print(f"\n{length}, 128 KiB of JSON sent: {answer.splitlines()[0].decode()} after {seconds} s")


async def test_a_conflict_is_409_and_another_sunmi_error_502_with_its_code(
    app_url: str, fake: ThreadedFakeServer, shop: tuple[str, str, str]
) -> None:
    number, _, _ = shop
    base = f"{app_url}/shops/{number}"
    async with httpx.AsyncClient(timeout=30) as http:
        taken = await _timed(http, "POST", f"{base}/groups", json={"name": "Members"})
        assert (taken["status"], taken["body"]["error"]) == (409, "conflict")
        fake.cloud.faults = Faults(error_rates={5999: 1.0}, endpoints={"/face/group/getList"})
        other = await _timed(http, "GET", f"{base}/groups")
        fake.cloud.faults = Faults()
    assert (other["status"], other["body"]["error"], other["body"]["code"]) == (
        502,
        "sunmi_error",
        5999,
    )
    assert other["seconds"] <= LATE


async def test_a_value_sunmi_refuses_is_422_not_a_gateway_error(
    app_url: str, shop: tuple[str, str, str]
) -> None:
    """SUNMI's own parameter check (code 5020: a 40-character group name) is the caller's
    input, like the client's ``ValidationError``: 422, not 502 ("SUNMI failed")."""
    number, _, _ = shop
    async with httpx.AsyncClient(timeout=30) as http:
        long_name = await _timed(
            http, "POST", f"{app_url}/shops/{number}/groups", json={"name": "n" * 40}
        )
    assert (long_name["status"], long_name["body"]["error"]) == (422, "invalid")
    assert "name must have 1 to 32 chars" in long_name["body"]["detail"]
    assert long_name["body"]["code"] == 5020


async def test_a_body_that_is_not_a_json_object_is_422_naming_body(
    app_url: str, shop: tuple[str, str, str]
) -> None:
    number, _, _ = shop
    url = f"{app_url}/shops/{number}/groups"
    async with httpx.AsyncClient(timeout=30) as http:
        broken = await http.post(url, content=b"{not json")
        listed = await http.post(url, json=["VIP"])
        bad_utf8 = await http.post(url, content=b'{"name": "\xff"}')
    for answer, problem in ((broken, "is not JSON"), (listed, "must be a JSON object")):
        assert (answer.status_code, answer.json()) == (
            422,
            {"error": "invalid", "detail": problem, "field": "body"},
        )
    assert (bad_utf8.status_code, bad_utf8.json()["detail"]) == (422, "is not JSON")
