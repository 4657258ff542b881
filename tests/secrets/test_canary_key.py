"""A canary app_key never appears in logs (DEBUG), exceptions, reprs or on the wire."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from sunmi_face_async import AsyncSunmiFace, RetryPolicy, SunmiError
from sunmi_face_async.testing import IN_PROCESS_BASE_URL, FakeSunmiCloud, Faults

CANARY = "CANARY-7f3a9c51e2-app-key"
JPEG = b"\xff\xd8\xff\xe0" + bytes(400)


async def _no_sleep(seconds: float) -> None:
    return None


QUICK_RETRY = RetryPolicy(max_attempts=4, sleep=_no_sleep)


async def exercise_every_endpoint(client: AsyncSunmiFace, scanner: Any) -> int:
    """Call every endpoint in a plausible order; collect errors; return how many succeeded."""
    ids = {"a": "", "b": "", "face": ""}

    async def create_groups() -> None:
        ids["a"] = (await client.groups.create("canary A", customer_keys=["level"])).group_id
        ids["b"] = (await client.groups.create("canary B")).group_id

    async def add_face() -> None:
        ids["face"] = await client.faces.add(ids["a"] or "g", pic=JPEG, name="Mike")

    steps = [
        client.groups.list,
        create_groups,
        lambda: client.groups.find("canary A"),
        lambda: client.groups.get(ids["a"] or "g"),
        lambda: client.groups.update(ids["a"] or "g", description="gold"),
        add_face,
        lambda: client.faces.get(ids["face"] or "f"),
        lambda: client.faces.update(ids["a"] or "g", ids["face"] or "f", name="Mike Li"),
        lambda: client.groups.list_faces(ids["a"] or "g"),
        lambda: client.groups.move_faces(ids["a"] or "g", ids["b"] or "g", [ids["face"] or "f"]),
        lambda: client.faces.delete(ids["b"] or "g", [ids["face"] or "f"]),
        lambda: client.groups.update_move_strategy(
            target_group_id=ids["b"] or "g", threshold=3, period=timedelta(days=1)
        ),
        lambda: client.hooks.add("https://push.example/x", [1]),
        lambda: client.hooks.delete([1]),
        lambda: client.groups.delete(ids["a"] or "g"),
        lambda: client.groups.delete(ids["b"] or "g"),
    ]
    succeeded = 0
    for step in steps:
        try:
            await step()
        except SunmiError as exc:
            scanner.add_exception(exc)
        else:
            succeeded += 1
    return succeeded


async def test_successful_calls_log_nothing_secret(debug_logs: Any, scanner: Any) -> None:
    cloud = FakeSunmiCloud(app_key=CANARY)
    async with cloud.client() as client:
        succeeded = await exercise_every_endpoint(client, scanner)
        scanner.add("repr(client)", repr(client))
    assert succeeded == 16
    assert any(r.name == "sunmi_face_async" for r in debug_logs.records)
    scanner.add_records(debug_logs.records)
    scanner.assert_clean()


async def test_failing_and_retried_calls_leak_nothing(debug_logs: Any, scanner: Any) -> None:
    faults = Faults(error_rates={5000: 0.2, 503: 0.1, 5091: 0.1}, throttle_rate=0.1, drop_rate=0.1)
    cloud = FakeSunmiCloud(app_key=CANARY, faults=faults, seed=7)
    async with cloud.client(retry=QUICK_RETRY) as client:
        for _ in range(3):
            await exercise_every_endpoint(client, scanner)
    retries = [r for r in debug_logs.records if "retrying" in r.getMessage()]
    assert retries, "the faults should have caused retries"
    assert len(scanner.texts) > 10, "the faults should have caused errors"
    scanner.add_records(debug_logs.records)
    scanner.assert_clean()


async def test_wrong_key_errors_leak_neither_key(debug_logs: Any, scanner: Any) -> None:
    cloud = FakeSunmiCloud(app_key="the-real-key-0000", auth_failure="http401")
    client = AsyncSunmiFace(
        cloud.app_id,
        CANARY,
        sunmi_shop_no=cloud.shop_no,
        base_url=IN_PROCESS_BASE_URL,
        transport=cloud.transport(),
        retry=QUICK_RETRY,
    )
    async with client:
        with pytest.raises(SunmiError) as caught:
            await client.groups.list()
    scanner.add_exception(caught.value)
    scanner.add_records(debug_logs.records)
    scanner.assert_clean()
    assert "the-real-key-0000" not in str(caught.value)


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(httpx.ConnectError("connection refused"), id="connect-error"),
        pytest.param(httpx.ReadTimeout("timed out"), id="read-timeout"),
        pytest.param(httpx.RemoteProtocolError("peer closed"), id="reset"),
        pytest.param(httpx.Response(200, text="<html>maintenance</html>"), id="html"),
        pytest.param(httpx.Response(401, text="unauthorized"), id="http-401"),
        pytest.param(httpx.Response(500, json={"code": 5000, "msg": "db"}), id="5000-retried"),
        pytest.param(httpx.Response(429, headers={"Retry-After": "0"}), id="throttled"),
    ],
)
async def test_transport_failures_leak_nothing(answer: Any, debug_logs: Any, scanner: Any) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if isinstance(answer, Exception):
            raise answer
        return answer

    client = AsyncSunmiFace(
        "APP01",
        CANARY,
        sunmi_shop_no="560279010307",
        transport=httpx.MockTransport(handler),
        retry=QUICK_RETRY,
    )
    async with client:
        for call in (client.groups.list(), client.faces.add("g1", pic=JPEG)):
            with pytest.raises(SunmiError) as caught:
                await call
            scanner.add_exception(caught.value)
    assert sent
    for request in sent:
        scanner.add("request url", str(request.url))
        scanner.add("request headers", repr(request.headers.raw))
        scanner.add("request body", request.content.decode("utf-8", "replace"))
    scanner.add_records(debug_logs.records)
    scanner.assert_clean()


async def test_client_and_clone_reprs_hide_the_key(scanner: Any) -> None:
    cloud = FakeSunmiCloud(app_key=CANARY)
    async with cloud.client() as client:
        clone = client.with_shop(sunmi_shop_no="100939020409")
        for name, obj in [("client", client), ("clone", clone)]:
            for part in (obj, obj.groups, obj.faces, obj.hooks, obj._transport):
                scanner.add(f"repr {name}.{type(part).__name__}", repr(part))
                scanner.add(f"str {name}.{type(part).__name__}", str(part))
            scanner.add(f"vars {name}", repr(vars(obj)))
            scanner.add(f"vars {name} transport", repr(vars(obj._transport)))
        scanner.add("clone call", repr(await clone.groups.list()))
    scanner.assert_clean()
    assert "100939020409" in repr(clone)


def test_constructor_errors_do_not_show_the_key(scanner: Any) -> None:
    for kwargs in (
        {"sunmi_shop_no": "1", "base_url": "ftp://x"},
        {"sunmi_shop_no": ""},
        {"sunmi_shop_no": "1", "max_connections": 0},
        {},
    ):
        with pytest.raises(SunmiError) as caught:
            AsyncSunmiFace("APP01", CANARY, **kwargs)
        scanner.add("str(exc)", str(caught.value))
        scanner.add("repr(exc)", repr(caught.value))
    with pytest.raises(SunmiError) as from_env:
        AsyncSunmiFace.from_env({"SUNMI_APP_KEY": CANARY})
    scanner.add("from_env", f"{from_env.value} {from_env.value!r}")
    scanner.assert_clean()
