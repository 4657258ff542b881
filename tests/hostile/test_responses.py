"""Hypothesis over what the server answers: every call ends in a typed result,
``ProtocolError`` or ``APIError`` (never ``KeyError``, ``TypeError``, ``AttributeError``...)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sunmi_face_async import (
    APIError,
    AsyncSunmiFace,
    Face,
    FaceGroup,
    FacePage,
    GroupLookupError,
    ProtocolError,
    RetryPolicy,
    ThrottledError,
)

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
JPEG = b"\xff\xd8\xff\xe0" + bytes(100)


async def _first_faces(client: AsyncSunmiFace) -> list[Face]:
    # A hostile server may announce a huge total_num: look at the first few faces only.
    faces: list[Face] = []
    async for face in client.groups.iter_faces("g1", page_size=2):
        faces.append(face)
        if len(faces) >= 10:
            break
    return faces


Call = Callable[[AsyncSunmiFace], Awaitable[Any]]
CALLS: dict[str, tuple[Call, Callable[[Any], bool]]] = {
    "groups.list": (
        lambda c: c.groups.list(),
        lambda r: isinstance(r, list) and all(isinstance(g, FaceGroup) for g in r),
    ),
    "groups.get": (lambda c: c.groups.get("g1"), lambda r: isinstance(r, FaceGroup)),
    "groups.create": (lambda c: c.groups.create("VIP"), lambda r: isinstance(r, FaceGroup)),
    "groups.update": (lambda c: c.groups.update("g1", name="VIP+"), lambda r: r is None),
    "groups.delete": (lambda c: c.groups.delete("g1"), lambda r: r is None),
    "groups.list_faces": (
        lambda c: c.groups.list_faces("g1", page_size=10),
        lambda r: isinstance(r, FacePage) and all(isinstance(f, Face) for f in r.faces),
    ),
    "groups.iter_faces": (
        _first_faces,
        lambda r: all(isinstance(f, Face) for f in r),
    ),
    "groups.move_faces": (lambda c: c.groups.move_faces("g1", "g2", ["f1"]), lambda r: r is None),
    "groups.update_move_strategy": (
        lambda c: c.groups.update_move_strategy(target_group_id="g2", threshold=3, period=60),
        lambda r: r is None,
    ),
    "faces.get": (lambda c: c.faces.get("f1"), lambda r: isinstance(r, Face)),
    "faces.add": (
        lambda c: c.faces.add("g1", pic=JPEG, name="Mike"),
        lambda r: isinstance(r, str) and r != "",
    ),
    "faces.update": (lambda c: c.faces.update("g1", "f1", name="M"), lambda r: r is None),
    "faces.delete": (lambda c: c.faces.delete("g1", ["f1"]), lambda r: r is None),
    "hooks.add": (lambda c: c.hooks.add("https://p.example/x", [1]), lambda r: r is None),
    "hooks.delete": (lambda c: c.hooks.delete([1]), lambda r: r is None),
}
METHODS = sorted(CALLS)

# JSON text without lone surrogates (json.dumps escapes them, the server would not send them).
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
    st.from_regex(r"-?[0-9]{1,12}", fullmatch=True),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
GROUP_FIELDS = ["group_id", "group_name", "type", "count", "capacity", "last_modified_time"]
FACE_FIELDS = ["face_id", "group_id", "name", "gender", "age_range", "arrival_count",
               "create_time", "last_arrival_time", "customer_key1", "customer_value1"]  # fmt: skip
# Mostly plausible field values, sometimes anything at all.
field_values = st.one_of(
    st.integers(0, 2**32), st.from_regex(r"[0-9]{1,10}", fullmatch=True), text, json_values
)
groups = st.fixed_dictionaries({}, optional={f: field_values for f in GROUP_FIELDS})
faces = st.fixed_dictionaries({}, optional={f: field_values for f in FACE_FIELDS})
shaped_data = st.one_of(
    json_values,
    st.fixed_dictionaries({}, optional={"group_list": st.lists(groups, max_size=3) | json_values}),
    st.fixed_dictionaries(
        {},
        optional={"face_list": st.lists(faces, max_size=3) | json_values, "total_num": json_values},
    ),
    st.fixed_dictionaries({}, optional={"face_id": json_values}),
    groups,
    faces,
)
codes = st.one_of(
    st.sampled_from([0, 0, 0, 5000, 5013, 5090, 5091, 5092, 5520, 9999, -1]),
    st.sampled_from(["0", "5000", " 5091", "", "abc", "0.0", None, True, 0.0, [0], {}]),
)
envelopes = st.fixed_dictionaries(
    {}, optional={"code": codes, "msg": json_values, "data": shaped_data, "extra": json_values}
)


def _truncate(body_and_cut: tuple[bytes, int]) -> bytes:
    body, cut = body_and_cut
    return body[: cut % max(len(body), 1)]


envelope_bytes = envelopes.map(lambda e: json.dumps(e).encode())
successes = shaped_data.map(lambda d: json.dumps({"code": 0, "msg": "", "data": d}).encode())
bodies = st.one_of(
    successes,
    successes,
    successes,
    envelope_bytes,
    st.tuples(envelope_bytes, st.integers(0, 10_000)).map(_truncate),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=64),
    st.sampled_from(
        [
            b"",
            b"<html><body><h1>502 Bad Gateway</h1></body></html>",
            b"\xef\xbb\xbf{}",
            b'{"code": 0, "data": null}',
            b'{"code": NaN}',
            b'{"code": 0, "data": {"group_list": [1, 2]}}',
            b'{"code": 0, "data": {"face_list": null, "total_num": -5}}',
            b'{"code": 1e400}',
        ]
    ),
)
statuses = st.sampled_from([200] * 12 + [201, 204, 301, 400, 401, 404, 429, 500, 503])
retry_after = st.one_of(
    st.none(),
    st.sampled_from(
        ["0", "1.5", "-3", "nan", "inf", "1e309", "soon", "Wed, 21 Oct 2015 07:28:00 GMT"]
    ),
)


def responder(status: int, body: bytes, retry_after: str | None) -> Any:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers=headers)

    return answer


async def run_call(harness: Any, name: str, answer: Any) -> None:
    call, well_typed = CALLS[name]
    async with harness.client(answer) as (client, requests):
        try:
            result = await call(client)
        except (ProtocolError, APIError) as exc:
            message = str(exc)
        except GroupLookupError:
            # create and find look the group up by name; a server that lists no such group
            # gets this documented error.
            assert name == "groups.create"
            return
        else:
            assert well_typed(result), f"{name} returned {result!r}"
            return
    assert message
    assert requests


@pytest.mark.parametrize("name", METHODS)
@FUZZ
@given(status=statuses, body=bodies, retry_after=retry_after)
async def test_any_response_ends_in_a_result_or_a_documented_error(
    name: str, status: int, body: bytes, retry_after: str | None, harness: Any
) -> None:
    await run_call(harness, name, responder(status, body, retry_after))


@pytest.mark.parametrize("name", METHODS)
async def test_huge_body_is_a_protocol_error(name: str, harness: Any) -> None:
    body = b'{"code": 0, "msg": "' + b"x" * (33 * 1024 * 1024) + b'", "data": {}}'
    async with harness.client(responder(200, body, None)) as (client, _):
        with pytest.raises(ProtocolError) as caught:
            await CALLS[name][0](client)
    assert len(str(caught.value)) < 1000


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (200, b"<html>maintenance</html>", ProtocolError),
        (200, b'{"code": 0, "msg": "ok", "da', ProtocolError),
        (200, b"[]", ProtocolError),
        (200, b'{"msg": "no code"}', ProtocolError),
        (200, b'{"code": "5522", "msg": "no group"}', APIError),
        (429, b"", ThrottledError),
        (502, b"<html>bad gateway</html>", APIError),
    ],
)
async def test_broken_answers_map_to_documented_errors(
    status: int, body: bytes, error: type[Exception], harness: Any
) -> None:
    async with harness.client(responder(status, body, "0")) as (client, requests):
        with pytest.raises(error):
            await client.groups.get("g1")
    assert 1 <= len(requests) <= 4


async def _no_sleep(seconds: float) -> None:
    return None


def make_client(body: bytes, requests: list[httpx.Request]) -> AsyncSunmiFace:
    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, content=body)

    return AsyncSunmiFace(
        "APP01",
        "regression-key",
        sunmi_shop_no="560279010307",
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(sleep=_no_sleep),
    )


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"code": "\xc2\xb2", "msg": "x"}', id="code-superscript-two"),
        pytest.param(b'{"code": "--5", "msg": "x"}', id="code-double-minus"),
        pytest.param(b"[" * 100_000, id="deeply-nested-json"),
        pytest.param(b'{"code": 0, "data": {"face_list": [], "total_num": "--1"}}', id="total"),
        pytest.param(
            b'{"code": 0, "data": {"face_list": [], "total_num": "\xc2\xb2"}}',
            id="total-superscript",
        ),
    ],
)
async def test_hostile_envelopes_end_in_protocol_or_api_error(body: bytes) -> None:
    # str.isdigit() accepts "²" and lstrip("-") accepts "--5", but int() refuses both with a
    # ValueError; json.loads raises RecursionError on deep nesting. None of them is a SunmiError.
    requests: list[httpx.Request] = []
    async with make_client(body, requests) as client:
        with pytest.raises((ProtocolError, APIError)):
            await client.groups.list_faces("g1")


async def test_endless_response_body_is_not_read_past_the_limit() -> None:
    # _transport checks _MAX_RESPONSE_BYTES (32 MB) only after httpx has read the whole body
    # into memory, so a hostile or broken gateway can make the client buffer any amount.
    consumed = 0

    async def endless() -> Any:
        nonlocal consumed
        chunk = b" " * (1024 * 1024)
        for _ in range(200):  # 200 MB, then give up
            consumed += len(chunk)
            yield chunk

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless())

    client = AsyncSunmiFace(
        "APP01", "key", sunmi_shop_no="1", transport=httpx.MockTransport(handler)
    )
    async with client:
        with pytest.raises(ProtocolError):
            await client.groups.list()
    assert consumed <= 40 * 1024 * 1024
