"""The client object itself: a closed client sends nothing, proxies from the environment, and
the timeout it reports."""

from __future__ import annotations

import httpx
import pytest
import respx

from sunmi_face_async import AsyncSunmiFace

from .helpers import ok


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
        pool = api._transport.connections.pools[0]._pool  # type: ignore[attr-defined]
        assert pool._proxy_url.host == b"proxy.example"
        assert pool._proxy_url.scheme == b"http"


async def test_timeout_reports_the_callers_client_timeout() -> None:
    async with httpx.AsyncClient(timeout=120.0) as mine:
        api = AsyncSunmiFace("APP", "KEY", sunmi_shop_no="1", http_client=mine)
        assert api.timeout == httpx.Timeout(120.0)
