"""Envelope parsing and the mapping of codes and HTTP statuses onto the error tree."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import respx

import sunmi_face_async as sf
from sunmi_face_async import NO_RETRY, AsyncSunmiFace

from .helpers import APP_ID, APP_KEY, BASE_URL, SHOP_NO, fail, ok

# The vendor's code table (docs/protocol.md): code -> (exact class, the family it belongs to).
CODE_TABLE = [
    (5000, sf.DatabaseError, sf.ServerError),
    (5005, sf.FileStorageError, sf.ServerError),
    (5006, sf.FileStorageError, sf.ServerError),
    (5013, sf.DataNotFoundError, sf.NotFoundError),
    (5020, sf.ParameterError, sf.BadRequestError),
    (5022, sf.ParameterError, sf.BadRequestError),
    (5023, sf.ParameterError, sf.BadRequestError),
    (5041, sf.ShopNotFoundError, sf.BadRequestError),
    (5090, sf.SignatureError, sf.AuthenticationError),
    (5091, sf.TimestampExpiredError, sf.AuthenticationError),
    (5092, sf.InvalidNonceError, sf.AuthenticationError),
    (5506, sf.RecordNotFoundError, sf.NotFoundError),
    (5509, sf.GroupNotEmptyError, sf.ConflictError),
    (5518, sf.GroupCreationFailedError, sf.ServerError),
    (5520, sf.LimitExceededError, sf.ConflictError),
    (5521, sf.FaceNotInGroupError, sf.NotFoundError),
    (5522, sf.GroupNotFoundError, sf.NotFoundError),
    (5523, sf.GroupExistsError, sf.ConflictError),
    (5524, sf.DefaultGroupDeleteError, sf.ConflictError),
    (5525, sf.DefaultGroupUpdateError, sf.ConflictError),
]


@pytest.fixture
async def once(router: respx.MockRouter) -> AsyncIterator[AsyncSunmiFace]:
    """A client that never retries, so each error surfaces from the first answer."""
    async with AsyncSunmiFace(
        APP_ID, APP_KEY, sunmi_shop_no=SHOP_NO, base_url=BASE_URL, retry=NO_RETRY
    ) as api:
        yield api


@pytest.mark.parametrize(("code", "exact", "family"), CODE_TABLE)
async def test_every_code_of_the_table(
    once: AsyncSunmiFace,
    router: respx.MockRouter,
    code: int,
    exact: type[sf.APIError],
    family: type[sf.APIError],
) -> None:
    router.post("/face/group/getInfo").mock(return_value=fail(code, "中文 message"))
    with pytest.raises(exact) as caught:
        await once.groups.get("1")
    error = caught.value
    assert type(error) is exact
    assert isinstance(error, family)
    assert isinstance(error, sf.APIError)
    assert isinstance(error, sf.SunmiError)
    assert error.code == code
    assert error.msg == "中文 message"
    assert error.endpoint == "/face/group/getInfo"
    assert error.http_status == 200
    assert error.outcome_unknown is False
    assert str(code) in str(error)
    assert "/face/group/getInfo" in str(error)
    assert f"code={code}" in repr(error)


@pytest.mark.parametrize(("code", "exact", "family"), CODE_TABLE)
def test_error_for_code_matches_the_table(
    code: int, exact: type[sf.APIError], family: type[sf.APIError]
) -> None:
    from sunmi_face_async.errors import error_for_code

    assert error_for_code(code) is exact
    assert error_for_code(code, 500) is exact  # a known code wins over the status


async def test_unknown_code_is_a_plain_api_error(
    once: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    router.post("/face/getInfo").mock(return_value=fail(4242, "new"))
    with pytest.raises(sf.APIError) as caught:
        await once.faces.get("1")
    assert type(caught.value) is sf.APIError
    assert (caught.value.code, caught.value.msg) == (4242, "new")


async def test_code_given_as_a_string_is_understood(
    once: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    router.post("/face/getInfo").mock(
        return_value=httpx.Response(200, json={"code": "5522", "msg": "x", "data": None})
    )
    with pytest.raises(sf.GroupNotFoundError):
        await once.faces.get("1")


async def test_http_401_without_envelope(once: AsyncSunmiFace, router: respx.MockRouter) -> None:
    router.post("/face/group/getList").mock(return_value=httpx.Response(401, text="Unauthorized"))
    with pytest.raises(sf.AuthenticationError) as caught:
        await once.groups.list()
    error = caught.value
    assert type(error) is sf.AuthenticationError
    assert error.code is None
    assert error.http_status == 401
    assert error.endpoint == "/face/group/getList"
    assert "401" in str(error) or "Unauthorized" in str(error)


async def test_http_401_with_an_envelope_keeps_the_code(
    once: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    router.post("/face/group/getList").mock(return_value=fail(5090, "sign error", status=401))
    with pytest.raises(sf.SignatureError) as caught:
        await once.groups.list()
    assert (caught.value.code, caught.value.http_status) == (5090, 401)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_http_5xx_is_a_server_error(
    once: AsyncSunmiFace, router: respx.MockRouter, status: int
) -> None:
    router.post("/face/group/getList").mock(
        return_value=httpx.Response(status, text="<html>Bad Gateway</html>")
    )
    with pytest.raises(sf.ServerError) as caught:
        await once.groups.list()
    error = caught.value
    assert type(error) is sf.ServerError
    assert error.code is None
    assert error.http_status == status
    assert error.endpoint == "/face/group/getList"
    assert "Bad Gateway" in error.msg


async def test_http_429_is_throttled_with_retry_after(
    once: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    router.post("/face/group/getList").mock(
        return_value=httpx.Response(429, text="slow down", headers={"Retry-After": "7"})
    )
    with pytest.raises(sf.ThrottledError) as caught:
        await once.groups.list()
    assert caught.value.http_status == 429
    assert caught.value.retry_after == 7.0


@pytest.mark.parametrize(
    "body",
    [
        b"<html>maintenance</html>",
        b"",
        b"[1, 2]",
        b'"code"',
        b'{"msg": "no code"}',
        b'{"code": true, "msg": "bool"}',
        b'{"code": "abc"}',
        b"\xff\xfe\x00garbage",
    ],
)
async def test_non_envelope_2xx_is_a_protocol_error(
    once: AsyncSunmiFace, router: respx.MockRouter, body: bytes
) -> None:
    router.post("/face/group/getList").mock(return_value=httpx.Response(200, content=body))
    with pytest.raises(sf.ProtocolError) as caught:
        await once.groups.list()
    error = caught.value
    assert error.endpoint == "/face/group/getList"
    assert error.http_status == 200
    assert error.snippet == body[:200].decode("utf-8", "replace")


async def test_protocol_error_snippet_is_short(
    once: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    router.post("/face/group/getList").mock(return_value=httpx.Response(200, text="x" * 5000))
    with pytest.raises(sf.ProtocolError) as caught:
        await once.groups.list()
    assert caught.value.snippet == "x" * 200


async def test_non_json_4xx_is_an_api_error_with_the_status(
    once: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    router.post("/face/group/getList").mock(return_value=httpx.Response(404, text="no route"))
    with pytest.raises(sf.APIError) as caught:
        await once.groups.list()
    assert type(caught.value) is sf.APIError
    assert (caught.value.code, caught.value.http_status) == (None, 404)
    assert "no route" in caught.value.msg


async def test_malformed_data_is_a_protocol_error(
    once: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    router.post("/face/group/getList").mock(return_value=ok({"group_list": "nope"}))
    with pytest.raises(sf.ProtocolError):
        await once.groups.list()
    router.post("/face/group/getInfo").mock(return_value=ok({"group_id": "1", "count": "many"}))
    with pytest.raises(sf.ProtocolError):
        await once.groups.get("1")
    router.post("/face/getInfo").mock(return_value=ok(["not", "a", "face"]))
    with pytest.raises(sf.ProtocolError):
        await once.faces.get("1")


@pytest.mark.parametrize("data", [{}, {"face_id": ""}, {"face_id": None}, None, {"face_id": True}])
async def test_face_add_without_a_face_id_is_a_protocol_error(
    once: AsyncSunmiFace, router: respx.MockRouter, data: object
) -> None:
    router.post("/face/add").mock(
        return_value=httpx.Response(200, json={"code": 0, "msg": "ok", "data": data})
    )
    with pytest.raises(sf.ProtocolError):
        await once.faces.add("g", pic=b"\xff\xd8\xff\xe0")


async def test_connect_error_is_a_transport_error_not_sent(
    once: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    router.post("/face/getInfo").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(sf.TransportError) as caught:
        await once.faces.get("1")
    error = caught.value
    assert type(error) is sf.TransportError
    assert error.sent is False
    assert error.outcome_unknown is False
    assert error.endpoint == "/face/getInfo"
    assert "not sent" in str(error)


@pytest.mark.parametrize("exc", [httpx.ReadTimeout("slow"), httpx.WriteTimeout("slow")])
async def test_timeouts_after_sending_are_request_timeouts_with_unknown_outcome(
    once: AsyncSunmiFace, router: respx.MockRouter, exc: Exception
) -> None:
    router.post("/face/getInfo").mock(side_effect=exc)
    with pytest.raises(sf.RequestTimeout) as caught:
        await once.faces.get("1")
    assert isinstance(caught.value, sf.TransportError)
    assert caught.value.sent is True
    assert caught.value.outcome_unknown is True
    assert "outcome is unknown" in str(caught.value)


@pytest.mark.parametrize("exc", [httpx.ConnectTimeout("c"), httpx.PoolTimeout("p")])
async def test_timeouts_before_sending_are_not_sent(
    once: AsyncSunmiFace, router: respx.MockRouter, exc: Exception
) -> None:
    router.post("/face/getInfo").mock(side_effect=exc)
    with pytest.raises(sf.RequestTimeout) as caught:
        await once.faces.get("1")
    assert caught.value.sent is False


async def test_no_error_text_holds_the_app_key(
    once: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    route = router.post("/face/getInfo")
    answers: list[httpx.Response | Exception] = [
        fail(5090, "bad sign"),
        httpx.Response(401),
        httpx.Response(502, text="gateway"),
        httpx.Response(200, text="not json"),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
    ]
    for answer in answers:
        if isinstance(answer, Exception):
            route.mock(side_effect=answer)
        else:
            route.mock(return_value=answer)
        with pytest.raises(sf.SunmiError) as caught:
            await once.faces.get("1")
        assert APP_KEY not in str(caught.value)
        assert APP_KEY not in repr(caught.value)
    assert APP_KEY not in repr(once)
    assert APP_KEY not in repr(once._transport.__dict__)


def test_validation_error_names_the_field() -> None:
    error = sf.ValidationError("page_size", "must be at most 100")
    assert (error.field, error.problem) == ("page_size", "must be at most 100")
    assert isinstance(error, ValueError)
    assert str(error) == "page_size: must be at most 100"


async def test_unsupported_protocol_is_final_and_not_sent(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    route = router.post("/face/getInfo").mock(side_effect=httpx.UnsupportedProtocol("nope"))
    with pytest.raises(sf.TransportError) as caught:
        await client.faces.get("1")
    assert caught.value.sent is False
    assert route.call_count == 1


async def test_string_zero_code_is_success(once: AsyncSunmiFace, router: respx.MockRouter) -> None:
    router.post("/face/getInfo").mock(
        return_value=httpx.Response(200, json={"code": "0", "data": {"face_id": "5"}})
    )
    assert (await once.faces.get("5")).face_id == "5"


async def test_error_without_msg_still_explains_itself(
    once: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    router.post("/face/getInfo").mock(return_value=httpx.Response(200, json={"code": 5506}))
    with pytest.raises(sf.RecordNotFoundError) as caught:
        await once.faces.get("5")
    assert caught.value.msg
    assert "5506" in str(caught.value)
