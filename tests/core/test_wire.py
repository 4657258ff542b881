"""The exact wire format of every endpoint: method, path, content type, fields and sign."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import httpx
import pytest
import respx

from sunmi_face_async import AgeRange, AsyncSunmiFace, Gender, GroupType

from .helpers import (
    APP_ID,
    APP_KEY,
    BASE_URL,
    BMP,
    FORM,
    JPEG,
    PNG,
    SHOP_NO,
    FakeClock,
    content_type,
    form_fields,
    md5_sign,
    multipart_fields,
    ok,
    split_common,
)

GROUP = {"group_id": "578968817934", "group_name": "VIP", "type": 5}


def only_request(route: respx.Route) -> httpx.Request:
    assert route.call_count == 1
    request = route.calls.last.request
    assert request.method == "POST"
    return request


def business(route: respx.Route) -> dict[str, str]:
    request = only_request(route)
    assert content_type(request) == FORM
    return split_common(form_fields(request))


async def test_group_list(client: AsyncSunmiFace, router: respx.MockRouter) -> None:
    route = router.post("/face/group/getList").mock(return_value=ok({"group_list": []}))
    assert await client.groups.list() == []
    request = only_request(route)
    assert request.url == httpx.URL("https://store.uat.sunmi.com/openapi/face/group/getList")
    assert request.headers["content-type"] == FORM
    assert business(route) == {}


async def test_group_get(client: AsyncSunmiFace, router: respx.MockRouter) -> None:
    route = router.post("/face/group/getInfo").mock(return_value=ok(GROUP))
    group = await client.groups.get("578968817934")
    assert group.group_id == "578968817934"
    assert business(route) == {"group_id": "578968817934"}


async def test_group_create_sends_every_field(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    create = router.post("/face/group/create").mock(return_value=ok())
    router.post("/face/group/getList").mock(
        return_value=ok({"group_list": [{**GROUP, "group_name": "张三 Mike"}]})
    )
    await client.groups.create(
        "张三 Mike",
        type=GroupType.CUSTOM,
        capacity=1000,
        description="gold & silver = 金卡",
        customer_keys=["vip_level", "hobby", "foreigner", "figure", "hairstyle"],
    )
    assert business(create) == {
        "name": "张三 Mike",
        "type": "5",
        "capacity": "1000",
        "description": "gold & silver = 金卡",
        "customer_key1": "vip_level",
        "customer_key2": "hobby",
        "customer_key3": "foreigner",
        "customer_key4": "figure",
        "customer_key5": "hairstyle",
    }


async def test_group_create_minimal_sends_name_and_default_type(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    create = router.post("/face/group/create").mock(return_value=ok())
    router.post("/face/group/getList").mock(return_value=ok({"group_list": [GROUP]}))
    await client.groups.create("VIP")
    assert business(create) == {"name": "VIP", "type": "5"}


async def test_group_update(client: AsyncSunmiFace, router: respx.MockRouter) -> None:
    route = router.post("/face/group/update").mock(return_value=ok())
    await client.groups.update(
        "578968817476", name="Mike", capacity=10000, description="", customer_keys=["a", None, "c"]
    )
    assert business(route) == {
        "group_id": "578968817476",
        "name": "Mike",
        "capacity": "10000",
        "description": "",
        "customer_key1": "a",
        "customer_key3": "c",
    }


async def test_group_update_leaves_out_what_is_not_given(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    route = router.post("/face/group/update").mock(return_value=ok())
    await client.groups.update("578968817476", capacity=5)
    assert business(route) == {"group_id": "578968817476", "capacity": "5"}


async def test_group_delete(client: AsyncSunmiFace, router: respx.MockRouter) -> None:
    route = router.post("/face/group/delete").mock(return_value=ok())
    await client.groups.delete("578968814328")
    assert business(route) == {"group_id": "578968814328"}


async def test_group_face_list(client: AsyncSunmiFace, router: respx.MockRouter) -> None:
    route = router.post("/face/group/getFaceList").mock(
        return_value=ok({"face_list": [], "total_num": 0})
    )
    page = await client.groups.list_faces("578968813726", page_num=3, page_size=50)
    assert (page.page_num, page.page_size, page.total_num, page.faces) == (3, 50, 0, ())
    assert business(route) == {"group_id": "578968813726", "page_num": "3", "page_size": "50"}


async def test_group_face_list_defaults(client: AsyncSunmiFace, router: respx.MockRouter) -> None:
    route = router.post("/face/group/getFaceList").mock(
        return_value=ok({"face_list": [], "total_num": 0})
    )
    await client.groups.list_faces("578968813726")
    assert business(route) == {"group_id": "578968813726", "page_num": "1", "page_size": "100"}


async def test_group_move(client: AsyncSunmiFace, router: respx.MockRouter) -> None:
    route = router.post("/face/group/move").mock(return_value=ok())
    await client.groups.move_faces("578968813726", "578968813727", ["578968751459", "5789687514"])
    fields = business(route)
    assert fields == {
        "source_group_id": "578968813726",
        "target_group_id": "578968813727",
        "face_id_list": '["578968751459","5789687514"]',
    }
    assert json.loads(fields["face_id_list"]) == ["578968751459", "5789687514"]


async def test_group_update_move_strategy_timedelta(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    route = router.post("/face/group/updateMoveStrategy").mock(return_value=ok())
    await client.groups.update_move_strategy(
        target_group_id="578968813727", threshold=4, period=timedelta(days=7)
    )
    assert business(route) == {
        "target_group_id": "578968813727",
        "threshold": "4",
        "period": "604800",
    }


async def test_group_update_move_strategy_seconds(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    route = router.post("/face/group/updateMoveStrategy").mock(return_value=ok())
    await client.groups.update_move_strategy(target_group_id="7", threshold=1, period=3600)
    assert business(route) == {"target_group_id": "7", "threshold": "1", "period": "3600"}


async def test_face_get(client: AsyncSunmiFace, router: respx.MockRouter) -> None:
    route = router.post("/face/getInfo").mock(return_value=ok({"face_id": "578968751459"}))
    face = await client.faces.get("578968751459")
    assert face.face_id == "578968751459"
    assert business(route) == {"face_id": "578968751459"}


async def test_face_update(client: AsyncSunmiFace, router: respx.MockRouter) -> None:
    route = router.post("/face/update").mock(return_value=ok())
    await client.faces.update(
        "578968813726",
        "578968751459",
        name="Mike",
        gender=Gender.MALE,
        age_range=AgeRange.AGE_19_28,
        customer_values=["1", "sing", "americans", "fat", "short hair"],
    )
    assert business(route) == {
        "group_id": "578968813726",
        "face_id": "578968751459",
        "name": "Mike",
        "gender": "1",
        "age_range": "4",
        "customer_value1": "1",
        "customer_value2": "sing",
        "customer_value3": "americans",
        "customer_value4": "fat",
        "customer_value5": "short hair",
    }


async def test_face_update_accepts_plain_ints(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    route = router.post("/face/update").mock(return_value=ok())
    await client.faces.update("g", "f", gender=0, age_range=8)
    assert business(route) == {"group_id": "g", "face_id": "f", "gender": "0", "age_range": "8"}


async def test_face_delete(client: AsyncSunmiFace, router: respx.MockRouter) -> None:
    route = router.post("/face/delete").mock(return_value=ok())
    await client.faces.delete("578968813726", ("578968751459",))
    assert business(route) == {
        "group_id": "578968813726",
        "face_id_list": '["578968751459"]',
    }


async def test_face_add_is_multipart(client: AsyncSunmiFace, router: respx.MockRouter) -> None:
    route = router.post("/face/add").mock(return_value=ok({"face_id": "578968740430"}))
    face_id = await client.faces.add(
        "578968813726",
        pic=PNG,
        name="张三 Mike",
        gender=Gender.FEMALE,
        age_range=AgeRange.AGE_56_PLUS,
        customer_values=["gold", None, "x"],
    )
    assert face_id == "578968740430"
    request = only_request(route)
    assert request.url.path == "/openapi/face/add"
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    texts, files = multipart_fields(request)
    assert set(files) == {"pic"}
    assert files["pic"].data == PNG
    assert files["pic"].filename
    assert files["pic"].content_type == "image/png"
    assert "pic" not in texts
    # The sign covers the text fields only: md5_sign would also drop pic, so sign the texts.
    assert texts["sign"] == md5_sign(texts)
    assert split_common(texts) == {
        "group_id": "578968813726",
        "name": "张三 Mike",
        "gender": "2",
        "age_range": "8",
        "customer_value1": "gold",
        "customer_value3": "x",
    }
    assert int(request.headers["content-length"]) == len(request.content) <= 1024 * 1024


@pytest.mark.parametrize(("picture", "kind"), [(JPEG, "image/jpeg"), (BMP, "image/bmp")])
async def test_face_add_picture_types(
    client: AsyncSunmiFace, router: respx.MockRouter, picture: bytes, kind: str
) -> None:
    route = router.post("/face/add").mock(return_value=ok({"face_id": "1"}))
    await client.faces.add("g", pic=picture)
    texts, files = multipart_fields(only_request(route))
    assert files["pic"].data == picture
    assert files["pic"].content_type == kind
    assert split_common(texts) == {"group_id": "g"}


async def test_face_add_reads_a_path_and_a_file_object(
    client: AsyncSunmiFace, router: respx.MockRouter, tmp_path: pytest.TempPathFactory
) -> None:
    route = router.post("/face/add").mock(return_value=ok({"face_id": 578968740430}))
    path = tmp_path / "face.jpg"  # type: ignore[operator]
    path.write_bytes(JPEG)
    assert await client.faces.add("g", pic=path) == "578968740430"
    assert await client.faces.add("g", pic=str(path)) == "578968740430"
    with path.open("rb") as stream:
        assert await client.faces.add("g", pic=stream) == "578968740430"
    assert route.call_count == 3
    for call in route.calls:
        _, files = multipart_fields(call.request)
        assert files["pic"].data == JPEG


async def test_hook_add(client: AsyncSunmiFace, router: respx.MockRouter) -> None:
    route = router.post("/hook/add").mock(return_value=ok())
    await client.hooks.add("https://example.com/cb?a=1&b=2", [1001, 1002])
    assert business(route) == {
        "http_callback": "https://example.com/cb?a=1&b=2",
        "event_list": "[1001,1002]",
        "shop_id": SHOP_NO,
    }


async def test_hook_delete(client: AsyncSunmiFace, router: respx.MockRouter) -> None:
    route = router.post("/hook/delete").mock(return_value=ok())
    await client.hooks.delete([1001])
    assert business(route) == {"event_list": "[1001]", "shop_id": SHOP_NO}


async def test_legacy_shop_id_is_sent_instead_of_sunmi_shop_no(router: respx.MockRouter) -> None:
    route = router.post("/face/group/getInfo").mock(return_value=ok(GROUP))
    async with AsyncSunmiFace(APP_ID, APP_KEY, shop_id="10096", base_url=BASE_URL) as api:
        await api.groups.get("1")
    assert split_common(form_fields(only_request(route)), shop={"shop_id": "10096"}) == {
        "group_id": "1"
    }


async def test_both_store_ids_are_sent_and_signed(router: respx.MockRouter) -> None:
    route = router.post("/face/getInfo").mock(return_value=ok({"face_id": "1"}))
    async with AsyncSunmiFace(
        APP_ID, APP_KEY, sunmi_shop_no=SHOP_NO, shop_id="10096", base_url=BASE_URL
    ) as api:
        await api.faces.get("1")
    fields = form_fields(only_request(route))
    assert split_common(fields, shop={"sunmi_shop_no": SHOP_NO, "shop_id": "10096"}) == {
        "face_id": "1"
    }


async def test_timestamp_is_now(client: AsyncSunmiFace, router: respx.MockRouter) -> None:
    route = router.post("/face/getInfo").mock(return_value=ok({"face_id": "1"}))
    before = int(time.time())
    await client.faces.get("1")
    after = int(time.time())
    assert before <= int(form_fields(only_request(route))["timestamp"]) <= after


async def test_every_call_has_a_fresh_random(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    route = router.post("/face/getInfo").mock(return_value=ok({"face_id": "1"}))
    for _ in range(20):
        await client.faces.get("1")
    nonces = [form_fields(call.request)["random"] for call in route.calls]
    assert len(set(nonces)) == 20


async def test_user_agent_names_the_library(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    route = router.post("/face/getInfo").mock(return_value=ok({"face_id": "1"}))
    await client.faces.get("1")
    assert only_request(route).headers["user-agent"].startswith("sunmi-face-async/")


async def test_base_url_trailing_slash_is_ignored(router: respx.MockRouter) -> None:
    route = router.post("/face/getInfo").mock(return_value=ok({"face_id": "1"}))
    async with AsyncSunmiFace(
        APP_ID, APP_KEY, sunmi_shop_no=SHOP_NO, base_url=BASE_URL + "/"
    ) as api:
        await api.faces.get("1")
    assert only_request(route).url.path == "/openapi/face/getInfo"


async def test_values_that_need_url_encoding_round_trip(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    route = router.post("/face/update").mock(return_value=ok())
    name = "a&b=c+d %25 é\n"
    await client.faces.update("g", "f", name=name)
    fields = form_fields(only_request(route))
    assert fields["name"] == name
    assert fields["sign"] == md5_sign(fields)
    assert fields["sign"] != md5_sign(fields, key=APP_KEY + "x")


@pytest.fixture
def vector_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Freeze the transport's clock and nonce at the values of the vendor's worked example."""
    import sunmi_face_async._transport as transport_module

    monkeypatch.setattr(transport_module, "time", FakeClock(1581383983.9))
    monkeypatch.setattr(transport_module, "make_nonce", lambda: "5dsf6698")


@pytest.mark.usefixtures("vector_clock")
async def test_protocol_vector_with_an_array_on_the_wire(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    route = router.post("/face/delete").mock(return_value=ok())
    await client.faces.delete("578968813726", ["578968751459", "578968751460"])
    assert form_fields(only_request(route)) == {
        "app_id": "LMWWQVTW4QGCC",
        "face_id_list": '["578968751459","578968751460"]',
        "group_id": "578968813726",
        "random": "5dsf6698",
        "sunmi_shop_no": "560279010307",
        "timestamp": "1581383983",
        "sign": "34F61DF1222F1DF6AFDBCE930124F07D",
    }


@pytest.mark.usefixtures("vector_clock")
async def test_protocol_vector_with_unicode_on_the_wire(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    route = router.post("/face/group/create").mock(return_value=ok())
    router.post("/face/group/getList").mock(
        return_value=ok({"group_list": [{"group_id": "1", "group_name": "张三 Mike"}]})
    )
    await client.groups.create("张三 Mike", capacity=1000)
    assert form_fields(only_request(route)) == {
        "app_id": "LMWWQVTW4QGCC",
        "capacity": "1000",
        "name": "张三 Mike",
        "random": "5dsf6698",
        "sunmi_shop_no": "560279010307",
        "timestamp": "1581383983",
        "type": "5",
        "sign": "ED85397FD2FECF388727E04712D23F9E",
    }


async def test_hook_delete_for_one_callback(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    route = router.post("/hook/delete").mock(return_value=ok())
    await client.hooks.delete([1001, 1002], http_callback="http://10.0.0.1:8080/push")
    assert business(route) == {
        "event_list": "[1001,1002]",
        "http_callback": "http://10.0.0.1:8080/push",
        "shop_id": SHOP_NO,
    }


async def test_hooks_with_a_legacy_shop_id_send_it_once(router: respx.MockRouter) -> None:
    route = router.post("/hook/add").mock(return_value=ok())
    async with AsyncSunmiFace(APP_ID, APP_KEY, shop_id="7948", base_url=BASE_URL) as api:
        await api.hooks.add("https://example.com/cb", [1])
    fields = form_fields(only_request(route))
    assert split_common(fields, shop={"shop_id": "7948"}) == {
        "http_callback": "https://example.com/cb",
        "event_list": "[1]",
    }
