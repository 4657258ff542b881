"""Input that cannot be encoded is refused as ``ValidationError`` before anything is signed,
and no exception raised for bad input shows the app_key: not in its args, str or repr, and not
in the locals of any frame it passed through (error trackers such as Sentry record those)."""

from __future__ import annotations

import types
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import sunmi_face_async
from sunmi_face_async import AsyncSunmiFace, SunmiError, ValidationError

from .conftest import CANARY, FRAGMENT

BAD = "56\ud800"  # a lone surrogate: valid in a Python str, not encodable as UTF-8
LIBRARY = Path(sunmi_face_async.__file__).resolve().parent
JPEG = b"\xff\xd8\xff\xe0" + bytes(200)


def _refuse(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"nothing may be sent, yet {request.url.path} was")


def _client(**overrides: Any) -> AsyncSunmiFace:
    arguments: dict[str, Any] = {
        "sunmi_shop_no": "560279010307",
        "base_url": "https://store.example.test/openapi",
        "transport": httpx.MockTransport(_refuse),
    }
    arguments.update(overrides)
    app_id = arguments.pop("app_id", "SURROGATEAPP")
    app_key = arguments.pop("app_key", CANARY)
    return AsyncSunmiFace(app_id, app_key, **arguments)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and every cause and context, suppressed ones included."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        todo.extend(getattr(current, "exceptions", ()))  # an exception group's members


def _frame_texts(tb: types.TracebackType | None) -> Iterator[tuple[str, str]]:
    """The repr of every local (and of its attributes) in the library's frames; the test's
    own frames hold the key on purpose."""
    while tb is not None:
        frame = tb.tb_frame
        tb = tb.tb_next
        if LIBRARY not in Path(frame.f_code.co_filename).parents:
            continue
        for name, value in frame.f_locals.items():
            where = f"{frame.f_code.co_name}:{name}"
            yield where, repr(value)
            if hasattr(value, "__dict__") and not isinstance(value, type | types.ModuleType):
                yield f"{where}.__dict__", repr(vars(value))


def assert_key_nowhere(exc: BaseException) -> None:
    texts: list[tuple[str, str]] = []
    for current in _chain(exc):
        name = type(current).__name__
        texts += [(f"{name}.args", repr(current.args)), (f"{name} str", str(current))]
        texts += [(f"{name} repr", repr(current))]
        texts += list(_frame_texts(current.__traceback__))
    assert any(":" in where for where, _ in texts), "no frame of the library was scanned"
    leaks = [where for where, text in texts if CANARY in text or FRAGMENT in text]
    assert leaks == [], f"the app_key shows in: {leaks}"


CONSTRUCTION: dict[str, tuple[dict[str, Any], str]] = {
    "sunmi_shop_no": ({"sunmi_shop_no": BAD}, "sunmi_shop_no"),
    "shop_id": ({"sunmi_shop_no": None, "shop_id": BAD}, "shop_id"),
    "app_id": ({"app_id": "APP\udfff"}, "app_id"),
    "app_key": ({"app_key": CANARY + "\ud800"}, "app_key"),
    "base_url port 99999": ({"base_url": "https://store.example.test:99999/openapi"}, "base_url"),
    "base_url port 0": ({"base_url": "http://127.0.0.1:0/openapi"}, "base_url"),
    "base_url without host": ({"base_url": "https://:443/openapi"}, "base_url"),
    "base_url with a space": ({"base_url": "https://store example.test/openapi"}, "base_url"),
    "base_url surrogate": ({"base_url": "https://store.example.test/\ud800"}, "base_url"),
}


@pytest.mark.parametrize("case", CONSTRUCTION)
def test_bad_construction_input_is_refused_without_showing_the_key(case: str) -> None:
    overrides, field = CONSTRUCTION[case]
    with pytest.raises(ValidationError) as caught:
        _client(**overrides)
    assert caught.value.field == field
    assert_key_nowhere(caught.value)


def test_from_env_errors_keep_the_environment_out_of_the_frames() -> None:
    env = {"SUNMI_APP_ID": "ENVAPP", "SUNMI_APP_KEY": CANARY, "SUNMI_SHOP_NO": BAD}
    with pytest.raises(ValidationError) as caught:
        AsyncSunmiFace.from_env(env)
    assert caught.value.field == "sunmi_shop_no"
    assert_key_nowhere(caught.value)


async def test_with_shop_refuses_a_surrogate() -> None:
    async with _client() as api:
        for field, overrides in (
            ("sunmi_shop_no", {"sunmi_shop_no": BAD}),
            ("shop_id", {"shop_id": BAD}),
        ):
            with pytest.raises(ValidationError) as caught:
                api.with_shop(**overrides)
            assert caught.value.field == field
            assert_key_nowhere(caught.value)


Call = Callable[[AsyncSunmiFace], Awaitable[object]]
CALLS: dict[str, tuple[Call, str]] = {
    "groups.create name": (lambda api: api.groups.create(BAD), "name"),
    "groups.create description": (
        lambda api: api.groups.create("VIP", description=BAD),
        "description",
    ),
    "groups.create customer_keys": (
        lambda api: api.groups.create("VIP", customer_keys=["a", BAD]),
        "customer_keys[1]",
    ),
    "groups.update name": (lambda api: api.groups.update("1", name=BAD), "name"),
    "groups.get": (lambda api: api.groups.get(BAD), "group_id"),
    "faces.add name": (lambda api: api.faces.add("1", pic=JPEG, name=BAD), "name"),
    "faces.add customer_values": (
        lambda api: api.faces.add("1", pic=JPEG, customer_values=[BAD]),
        "customer_values[0]",
    ),
    "faces.check_add name": (lambda api: api.faces.check_add("1", pic=JPEG, name=BAD), "name"),
    "faces.update name": (lambda api: api.faces.update("1", "2", name=BAD), "name"),
    "faces.delete": (lambda api: api.faces.delete("1", ["f1", BAD]), "face_ids[1]"),
    "hooks.add": (
        lambda api: api.hooks.add("https://hook.example.test/" + BAD, [1]),
        "http_callback",
    ),
}


@pytest.mark.parametrize("case", CALLS)
async def test_a_surrogate_in_a_parameter_is_refused_before_signing(case: str) -> None:
    call, field = CALLS[case]
    async with _client() as api:
        with pytest.raises(SunmiError) as caught:
            await call(api)
    assert isinstance(caught.value, ValidationError)
    assert caught.value.field == field
    assert_key_nowhere(caught.value)


async def test_the_transport_refuses_what_slips_past_the_resources() -> None:
    """A store value or parameter that reaches the transport unchecked is still refused there,
    naming the field, and the signing code never holds the key as a plain local."""
    from sunmi_face_async import _endpoints as ep

    async with _client() as api:
        with pytest.raises(ValidationError) as caught:
            await api._transport.call(ep.GROUP_LIST, {"page": BAD}, {"sunmi_shop_no": "1"})
        assert caught.value.field == "page"
        assert_key_nowhere(caught.value)
        with pytest.raises(ValidationError) as caught:
            await api._transport.call(ep.GROUP_LIST, {}, {"sunmi_shop_no": BAD})
        assert caught.value.field == "sunmi_shop_no"
        assert_key_nowhere(caught.value)
