"""A client wired to a MockTransport that records every request and answers as told."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from sunmi_face_async import AsyncSunmiFace, RetryPolicy
from tests._backends import parametrize_wire_modules, use_backend
from tests._reference import reference_sign

APP_KEY = "hostile-test-key-0123456789"
Responder = Callable[[httpx.Request], httpx.Response]


async def _no_sleep(seconds: float) -> None:
    return None


def _form_of(request: httpx.Request) -> dict[str, str]:
    """The fields of a form-encoded request (multipart requests give {})."""
    if request.headers.get("content-type", "").startswith("multipart/"):
        return {}
    return dict(parse_qsl(request.content.decode("ascii"), keep_blank_values=True))


def _sign_is_valid(form: dict[str, str]) -> bool:
    """The request carries the reference sign under this suite's key."""
    return form.get("sign") == reference_sign(form, APP_KEY)


class HappyCloud:
    """Answers every endpoint with a plausible success; remembers created group names."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/openapi")
        form = _form_of(request)
        data: Any = {}
        if path == "/face/group/create":
            self.names.append(form["name"])
        elif path == "/face/group/getList":
            groups = [{"group_id": f"g{i}", "group_name": n} for i, n in enumerate(self.names)]
            data = {"group_list": groups}
        elif path == "/face/group/getInfo":
            data = {"group_id": form["group_id"], "group_name": "VIP", "type": 5}
        elif path == "/face/group/getFaceList":
            data = {"face_list": [{"face_id": "f1", "name": "Mike"}], "total_num": 1}
        elif path == "/face/getInfo":
            data = {"face_id": form["face_id"], "name": "Mike"}
        elif path == "/face/add":
            data = {"face_id": "578968751459"}
        return httpx.Response(200, json={"code": 0, "msg": "", "data": data})


class Harness:
    """``async with harness.client(responder) as (client, requests)``, and helpers."""

    app_key = APP_KEY
    form_of = staticmethod(_form_of)
    sign_is_valid = staticmethod(_sign_is_valid)
    HappyCloud = HappyCloud

    @asynccontextmanager
    async def client(
        self, responder: Responder | None = None, **kwargs: Any
    ) -> AsyncIterator[tuple[AsyncSunmiFace, list[httpx.Request]]]:
        requests: list[httpx.Request] = []
        answer = responder or HappyCloud()

        def handler(request: httpx.Request) -> httpx.Response:
            requests.append(request)
            return answer(request)

        kwargs.setdefault("retry", RetryPolicy(sleep=_no_sleep, jitter=lambda upper: 0.0))
        client = AsyncSunmiFace(
            "HOSTILEAPP01",
            APP_KEY,
            sunmi_shop_no="560279010307",
            base_url="https://store.example.test/openapi",
            transport=httpx.MockTransport(handler),
            **kwargs,
        )
        async with client:
            yield client, requests


@pytest.fixture(scope="session")
def harness() -> Harness:
    return Harness()


# Backend parametrization: these modules build clients that own real connections, so each
# of their tests runs once per HTTP backend (the others stay on httpx).
WIRE_MODULES = ("test_close", "test_deadlines", "test_arguments", "test_pagination")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_wire_modules(metafunc, WIRE_MODULES)


@pytest.fixture(autouse=True)
def wire_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    return use_backend(request, monkeypatch)
