"""Regression tests for bugs found by review: Retry-After on 5xx, NaN Retry-After, and a
create whose unknown outcome must survive a failing lookup."""

from __future__ import annotations

import httpx
import pytest
import respx

import sunmi_face_async as sf
from sunmi_face_async import AsyncSunmiFace
from sunmi_face_async._retry import parse_retry_after

from .helpers import Jitter, Sleeps, fail, ok


async def test_retry_after_is_honoured_on_503(
    client: AsyncSunmiFace, router: respx.MockRouter, sleeps: Sleeps, jitter: Jitter
) -> None:
    router.post("/face/group/getList").mock(
        side_effect=[
            httpx.Response(503, text="maintenance", headers={"Retry-After": "5"}),
            ok({"group_list": []}),
        ]
    )
    await client.groups.list()
    assert sleeps == [5.0]
    assert jitter == []


async def test_create_keeps_its_unknown_outcome_when_the_lookup_fails(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    router.post("/face/group/create").mock(return_value=httpx.Response(502, text="bad gateway"))
    router.post("/face/group/getList").mock(return_value=fail(5041, "no shop"))
    with pytest.raises(sf.SunmiError) as caught:
        await client.groups.create("VIP")
    # The caller must learn that the group may exist, not the lookup's ShopNotFoundError.
    assert getattr(caught.value, "outcome_unknown", False) is True
    assert caught.value.endpoint == "/face/group/create"  # type: ignore[attr-defined]


def test_retry_after_nan_is_ignored() -> None:
    assert parse_retry_after("nan") is None


async def test_a_closed_client_refuses_to_send(router: respx.MockRouter) -> None:
    router.post("/face/group/getList").mock(return_value=ok({"group_list": []}))
    api = AsyncSunmiFace("APP", "KEY", sunmi_shop_no="1", base_url="https://api.test/openapi")
    other = api.with_shop(sunmi_shop_no="2")
    await api.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await api.groups.list()
    with pytest.raises(RuntimeError, match="closed"):
        await other.groups.list()


async def test_a_proxy_without_a_scheme_is_read_as_http(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("https_proxy", "all_proxy", "no_proxy", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "proxy.example:3128")
    async with AsyncSunmiFace("APP", "KEY", sunmi_shop_no="1") as api:
        pool = api._transport.shards.pools[0]._pool  # type: ignore[attr-defined]
        assert pool._proxy_url.host == b"proxy.example"
        assert pool._proxy_url.scheme == b"http"


async def test_timeout_reports_the_callers_client_timeout() -> None:
    async with httpx.AsyncClient(timeout=120.0) as mine:
        api = AsyncSunmiFace("APP", "KEY", sunmi_shop_no="1", http_client=mine)
        assert api.timeout == httpx.Timeout(120.0)


def test_an_unknown_outcome_is_never_surely_not_applied() -> None:
    from sunmi_face_async.bulk._policy import surely_not_applied

    refused = sf.TimestampExpiredError(5091, "late", endpoint="/face/add", http_status=200)
    behind_a_5xx = sf.TimestampExpiredError(
        5091, "late", endpoint="/face/add", http_status=502, outcome_unknown=True
    )
    assert surely_not_applied(refused)
    assert not surely_not_applied(behind_a_5xx)
