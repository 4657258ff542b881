"""Resource behaviour beyond one request: create-then-find, paging, other stores, env config."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from sunmi_face_async import (
    PRODUCTION_URL,
    UAT_URL,
    AsyncSunmiFace,
    Face,
    GroupLookupError,
    GroupType,
    SunmiError,
    ValidationError,
)

from .helpers import APP_ID, APP_KEY, BASE_URL, SHOP_NO, form_fields, ok, split_common


def groups_reply(*names: str) -> httpx.Response:
    return ok(
        {
            "group_list": [
                {"group_id": str(100 + i), "group_name": name, "type": 5, "capacity": 50}
                for i, name in enumerate(names)
            ]
        }
    )


# --- groups.create ------------------------------------------------------------------------


async def test_create_returns_the_group_found_by_name(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    order: list[str] = []

    def record(name: str, response: httpx.Response):  # type: ignore[no-untyped-def]
        def handler(request: httpx.Request) -> httpx.Response:
            order.append(name)
            return response

        return handler

    router.post("/face/group/create").mock(side_effect=record("create", ok()))
    router.post("/face/group/getList").mock(
        side_effect=record("list", groups_reply("stranger", "VIP", "VIPs"))
    )
    group = await client.groups.create("VIP", type=GroupType.CUSTOM, capacity=50)
    assert order == ["create", "list"]
    assert (group.group_id, group.name, group.type, group.capacity) == (
        "101",
        "VIP",
        GroupType.CUSTOM,
        50,
    )


async def test_create_when_the_name_is_missing_afterwards(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    router.post("/face/group/create").mock(return_value=ok())
    router.post("/face/group/getList").mock(return_value=groups_reply("stranger", "vip"))
    with pytest.raises(GroupLookupError) as caught:
        await client.groups.create("VIP")
    assert isinstance(caught.value, SunmiError)
    assert isinstance(caught.value, LookupError)
    assert (caught.value.name, caught.value.found) == ("VIP", 0)
    assert "VIP" in str(caught.value)


async def test_create_when_the_name_is_not_unique(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    router.post("/face/group/create").mock(return_value=ok())
    router.post("/face/group/getList").mock(return_value=groups_reply("VIP", "VIP"))
    with pytest.raises(GroupLookupError) as caught:
        await client.groups.create("VIP")
    assert caught.value.found == 2
    assert "2 groups" in str(caught.value)


async def test_find(client: AsyncSunmiFace, router: respx.MockRouter) -> None:
    router.post("/face/group/getList").mock(return_value=groups_reply("a", "b"))
    assert (await client.groups.find("b")).group_id == "101"
    with pytest.raises(GroupLookupError):
        await client.groups.find("c")


# --- iter_faces ---------------------------------------------------------------------------


def faces_reply(ids: range, total: int | None) -> httpx.Response:
    data: dict[str, object] = {"face_list": [{"face_id": str(i)} for i in ids]}
    if total is not None:
        data["total_num"] = total
    return ok(data)


def pages_asked(route: respx.Route) -> list[tuple[str, str]]:
    out = []
    for call in route.calls:
        fields = split_common(form_fields(call.request))
        assert fields["group_id"] == "g"
        out.append((fields["page_num"], fields["page_size"]))
    return out


async def collect(client: AsyncSunmiFace, page_size: int) -> list[str]:
    return [face.face_id async for face in client.groups.iter_faces("g", page_size=page_size)]


async def test_iter_faces_does_not_stop_on_total_alone(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    """``total_num`` is the server's word: after a full last page, one more page settles it."""
    route = router.post("/face/group/getFaceList").mock(
        side_effect=[faces_reply(range(2), 4), faces_reply(range(2, 4), 4), faces_reply([], 4)]
    )
    assert await collect(client, 2) == ["0", "1", "2", "3"]
    assert pages_asked(route) == [("1", "2"), ("2", "2"), ("3", "2")]


async def test_iter_faces_stops_on_a_short_page(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    route = router.post("/face/group/getFaceList").mock(
        side_effect=[faces_reply(range(3), 4), faces_reply(range(3, 4), 4)]
    )
    assert await collect(client, 3) == ["0", "1", "2", "3"]
    assert pages_asked(route) == [("1", "3"), ("2", "3")]


async def test_iter_faces_reads_past_a_short_page_while_the_count_says_more(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    route = router.post("/face/group/getFaceList").mock(
        side_effect=[
            faces_reply(range(3), 6),
            faces_reply(range(3, 5), 6),  # one face filtered out of this page
            faces_reply(range(6, 7), 6),  # short again, but six faces seen: the end
        ]
    )
    assert await collect(client, 3) == ["0", "1", "2", "3", "4", "6"]
    assert pages_asked(route) == [("1", "3"), ("2", "3"), ("3", "3")]


async def test_iter_faces_stops_on_an_empty_page(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    route = router.post("/face/group/getFaceList").mock(
        side_effect=[faces_reply(range(2), 9), faces_reply(range(0), 9)]
    )
    assert await collect(client, 2) == ["0", "1"]
    assert route.call_count == 2


async def test_iter_faces_of_an_empty_group(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    route = router.post("/face/group/getFaceList").mock(return_value=faces_reply(range(0), 0))
    assert await collect(client, 100) == []
    assert route.call_count == 1


async def test_iter_faces_stops_on_a_page_that_brings_no_new_face(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    """A server whose total keeps growing but whose pages repeat ends at the first repeat."""
    route = router.post("/face/group/getFaceList").mock(
        side_effect=[faces_reply(range(2), 4)] + [faces_reply(range(2, 4), 1000)] * 5
    )
    assert await collect(client, 2) == ["0", "1", "2", "3"]
    assert route.call_count == 3


async def test_iter_faces_many_pages(client: AsyncSunmiFace, router: respx.MockRouter) -> None:
    total = 250

    def page(request: httpx.Request) -> httpx.Response:
        fields = form_fields(request)
        num, size = int(fields["page_num"]), int(fields["page_size"])
        return faces_reply(range((num - 1) * size, min(num * size, total)), total)

    route = router.post("/face/group/getFaceList").mock(side_effect=page)
    assert await collect(client, 100) == [str(i) for i in range(total)]
    assert pages_asked(route) == [("1", "100"), ("2", "100"), ("3", "100")]


async def test_iter_faces_yields_face_records(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    router.post("/face/group/getFaceList").mock(return_value=faces_reply(range(1), 1))
    faces = [face async for face in client.groups.iter_faces("g")]
    assert faces == [Face(face_id="0")]


async def test_iter_faces_checks_its_input_before_sending(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    anything = router.route()
    with pytest.raises(ValidationError) as caught:
        await collect(client, 0)
    assert caught.value.field == "page_size"
    with pytest.raises(ValidationError):
        [f async for f in client.groups.iter_faces("")]
    assert anything.call_count == 0


# --- with_shop and from_env ---------------------------------------------------------------


async def test_with_shop_shares_the_connections(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    route = router.post("/face/getInfo").mock(return_value=ok({"face_id": "1"}))
    other = client.with_shop(sunmi_shop_no="100939020409")
    legacy = client.with_shop(shop_id="7948")
    assert other._transport is client._transport
    assert other.shop == {"sunmi_shop_no": "100939020409"}
    assert legacy.shop == {"shop_id": "7948"}
    assert client.shop == {"sunmi_shop_no": SHOP_NO}
    await other.faces.get("1")
    await legacy.faces.get("1")
    await client.faces.get("1")
    stores = [form_fields(call.request) for call in route.calls]
    assert split_common(stores[0], shop={"sunmi_shop_no": "100939020409"}) == {"face_id": "1"}
    assert split_common(stores[1], shop={"shop_id": "7948"}) == {"face_id": "1"}
    assert split_common(stores[2]) == {"face_id": "1"}
    # Closing a derived client leaves the shared connections open.
    await other.aclose()
    async with legacy:
        pass
    assert not client._transport.connections.closed
    await client.faces.get("1")
    assert route.call_count == 4


async def test_closing_the_owner_closes_its_clients(router: respx.MockRouter) -> None:
    api = AsyncSunmiFace(APP_ID, APP_KEY, sunmi_shop_no=SHOP_NO, max_connections=10)
    closed: list[int] = []
    for index, pool in enumerate(api._transport.connections.pools):
        original = pool.aclose

        async def aclose(index: int = index, original: Any = original) -> None:
            closed.append(index)
            await original()

        pool.aclose = aclose  # type: ignore[method-assign]
    async with api:
        pass
    assert sorted(closed) == [0, 1, 2]


async def test_from_env() -> None:
    env = {
        "SUNMI_APP_ID": "ENVAPP",
        "SUNMI_APP_KEY": "ENVKEY",
        "SUNMI_SHOP_NO": "100939020409",
        "SUNMI_BASE_URL": UAT_URL,
    }
    async with AsyncSunmiFace.from_env(env) as api:
        assert api.app_id == "ENVAPP"
        assert api.base_url == UAT_URL
        assert api.shop == {"sunmi_shop_no": "100939020409"}
        assert api._transport._key._bytes == b"ENVKEY"
        assert "ENVKEY" not in repr(api)


async def test_from_env_defaults_and_overrides() -> None:
    env = {"SUNMI_APP_ID": "ENVAPP", "SUNMI_APP_KEY": "ENVKEY", "SUNMI_SHOP_ID": "7948"}
    async with AsyncSunmiFace.from_env(env) as api:
        assert api.base_url == PRODUCTION_URL
        assert api.shop == {"shop_id": "7948"}
    async with AsyncSunmiFace.from_env(
        env, app_id="OTHER", sunmi_shop_no="1", shop_id=None, base_url=BASE_URL
    ) as api:
        assert api.app_id == "OTHER"
        assert api.shop == {"sunmi_shop_no": "1"}
        assert api.base_url == BASE_URL


async def test_from_env_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUNMI_APP_ID", "OSAPP")
    monkeypatch.setenv("SUNMI_APP_KEY", "OSKEY")
    monkeypatch.setenv("SUNMI_SHOP_NO", "42")
    monkeypatch.delenv("SUNMI_SHOP_ID", raising=False)
    monkeypatch.delenv("SUNMI_BASE_URL", raising=False)
    async with AsyncSunmiFace.from_env() as api:
        assert (api.app_id, api.shop, api.base_url) == (
            "OSAPP",
            {"sunmi_shop_no": "42"},
            PRODUCTION_URL,
        )


@pytest.mark.parametrize(
    ("env", "field"),
    [
        ({"SUNMI_APP_KEY": "k", "SUNMI_SHOP_NO": "1"}, "SUNMI_APP_ID"),
        ({"SUNMI_APP_ID": "a", "SUNMI_SHOP_NO": "1"}, "SUNMI_APP_KEY"),
        ({"SUNMI_APP_ID": "a", "SUNMI_APP_KEY": "", "SUNMI_SHOP_NO": "1"}, "SUNMI_APP_KEY"),
        ({"SUNMI_APP_ID": "a", "SUNMI_APP_KEY": "k"}, "sunmi_shop_no"),
    ],
)
def test_from_env_names_what_is_missing(env: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        AsyncSunmiFace.from_env(env)
    assert caught.value.field == field


def test_repr_shows_the_store_not_the_key(client: AsyncSunmiFace) -> None:
    text = repr(client)
    assert APP_ID in text
    assert SHOP_NO in text
    assert APP_KEY not in text
