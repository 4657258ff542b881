"""``mock_sunmi()``: every client built inside talks to an in-process fake, however it is built.

The environment points at a closed loopback port (``127.0.0.1:9``), so a client that was not
intercepted fails at once with a TransportError instead of reaching any network.
"""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path

import httpx
import pytest

from sunmi_face_async import AsyncSunmiFace, TransportError, ValidationError
from sunmi_face_async.testing import MockSunmi, mock_sunmi, mocked_cloud

UNREACHABLE = "http://127.0.0.1:9/openapi"
KEY = "the-real-app-key-of-the-app-under-test"


@pytest.fixture(autouse=True)
def app_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the application under test reads: credentials of its own, an unreachable URL."""
    monkeypatch.setenv("SUNMI_APP_ID", "APP-UNDER-TEST")
    monkeypatch.setenv("SUNMI_APP_KEY", KEY)
    monkeypatch.setenv("SUNMI_SHOP_NO", "777001")
    monkeypatch.setenv("SUNMI_BASE_URL", UNREACHABLE)
    monkeypatch.delenv("SUNMI_SHOP_ID", raising=False)


async def enroll_vip(name: str) -> str:
    """Application code: builds its own client from the environment, creates a group."""
    async with AsyncSunmiFace.from_env(retry=None) as client:
        group = await client.groups.create(name)
        return group.group_id


async def test_code_calling_from_env_reaches_the_fake_and_the_test_reads_its_state() -> None:
    with mock_sunmi() as cloud:
        group_id = await enroll_vip("VIP")
    assert [g.name for g in cloud.groups_of("777001")] == ["stranger", "regular", "employee", "VIP"]
    assert cloud.groups_of("777001")[-1].group_id == group_id
    assert cloud.stats.requests_by_endpoint["/face/group/create"] == 1
    assert AsyncSunmiFace.transport_override.get() is None


async def test_without_the_mock_the_same_code_goes_to_the_network() -> None:
    with pytest.raises(TransportError, match="request was not sent"):
        await enroll_vip("VIP")


async def test_every_way_of_building_a_client_is_intercepted() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"reached the test's own transport: {request.url}")

    own_http = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    with mock_sunmi() as cloud:
        built = [
            AsyncSunmiFace("ID-1", "key-1", sunmi_shop_no="1", base_url="https://x.invalid/a/b"),
            AsyncSunmiFace(
                "ID-2", "key-2", sunmi_shop_no="2", transport=httpx.MockTransport(refuse)
            ),
            AsyncSunmiFace(
                "ID-3",
                "key-3",
                sunmi_shop_no="3",
                http_client=own_http,
            ),
            AsyncSunmiFace.from_env(sunmi_shop_no="4"),
        ]
        for client in built:
            async with client:
                await client.groups.create("Made")
                async with client.with_shop(sunmi_shop_no="5") as other:
                    await other.groups.list()
    for shop in ("1", "2", "3", "4"):
        assert [g.name for g in cloud.groups_of(shop)][-1] == "Made"
    # groups.create lists the groups first (a name must be unique); with_shop lists once more.
    assert cloud.stats.requests_by_endpoint == {"/face/group/create": 4, "/face/group/getList": 8}
    await own_http.aclose()


async def test_a_client_that_picks_the_aiohttp_backend_is_intercepted_too() -> None:
    """A web app that builds its client with ``backend="aiohttp"`` (or ``"auto"``) is tested
    under the mock like any other: it sends through the fake, not through aiohttp."""
    pytest.importorskip("aiohttp", reason="the aiohttp backend needs the [aiohttp] extra")
    with mock_sunmi() as cloud:
        built = [
            AsyncSunmiFace.from_env(backend="aiohttp"),
            AsyncSunmiFace("ID-7", "key-7", sunmi_shop_no="7", backend="auto"),
        ]
        for client in built:
            async with client:
                await client.groups.create("Made")
    assert [g.name for g in cloud.groups_of("777001")][-1] == "Made"
    assert [g.name for g in cloud.groups_of("7")][-1] == "Made"
    with mock_sunmi(), pytest.raises(ValidationError, match="backend"):  # still refused
        AsyncSunmiFace.from_env(backend="curl")


async def test_a_client_built_in_a_worker_thread_inside_is_intercepted() -> None:
    async def in_thread_loop() -> None:
        await enroll_vip("Threaded")

    with mock_sunmi() as cloud:
        await asyncio.to_thread(asyncio.run, in_thread_loop())
    assert [g.name for g in cloud.groups_of("777001")][-1] == "Threaded"


async def test_the_decorator_wraps_async_functions_with_a_fresh_fake_per_call() -> None:
    @mock_sunmi(seed=3)
    async def scenario(name: str) -> list[str]:
        await enroll_vip(name)
        return [g.name for g in mocked_cloud().groups_of("777001")]

    assert await scenario("First") == ["stranger", "regular", "employee", "First"]
    assert await scenario("Second") == ["stranger", "regular", "employee", "Second"]
    with pytest.raises(LookupError, match="no mock_sunmi"):
        mocked_cloud()


def test_the_decorator_wraps_sync_functions() -> None:
    @mock_sunmi()
    def scenario() -> int:
        asyncio.run(enroll_vip("Sync"))
        return mocked_cloud().stats.requests_by_endpoint["/face/group/create"]

    assert scenario() == 1
    assert AsyncSunmiFace.transport_override.get() is None


async def test_nested_mocks_and_a_client_kept_after_the_block() -> None:
    with mock_sunmi() as outer:
        kept = AsyncSunmiFace.from_env()
        with mock_sunmi() as inner:
            await enroll_vip("Inner")
        assert mocked_cloud() is outer
        await enroll_vip("Outer")
    async with kept:  # built inside: still bound to the outer fake
        await kept.groups.create("Later")
    assert [g.name for g in inner.groups_of("777001")][3:] == ["Inner"]
    assert [g.name for g in outer.groups_of("777001")][3:] == ["Outer", "Later"]


def test_the_fake_keeps_none_of_the_client_s_key_and_bad_settings_fail_at_once() -> None:
    async def run() -> None:
        await enroll_vip("VIP")

    with mock_sunmi() as cloud:
        asyncio.run(run())
    assert KEY not in repr(vars(cloud.gateway))
    assert "APP-UNDER-TEST" not in cloud.gateway.apps
    with pytest.raises(TypeError, match="colour"):
        mock_sunmi(colour="blue")
    with pytest.raises(RuntimeError, match="not started"):
        MockSunmi({}).stop()


# Starlette's TestClient warns, in its newest versions, that it wants httpx2 instead of httpx.
@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_a_web_app_under_starlette_s_test_client_is_intercepted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The example app's lifespan builds its client in TestClient's portal thread."""
    from starlette.testclient import TestClient

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "examples" / "webapp"))
    starlette_app = importlib.import_module("starlette_app")
    with mock_sunmi() as cloud, TestClient(starlette_app.create_app(app_key="k")) as http:
        listed = http.get("/shops/777001/groups")
        missing = http.get("/shops/777001/faces/578968819999")
    assert listed.status_code == 200
    assert [g["name"] for g in listed.json()] == ["stranger", "regular", "employee"]
    assert missing.status_code == 404
    assert cloud.stats.requests_by_endpoint == {"/face/group/getList": 1, "/face/getInfo": 1}
