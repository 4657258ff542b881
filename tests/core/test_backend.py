"""``backend=``: choosing it, and the wire contract both backends keep (what a loopback
server receives: request line, headers, signed fields, the proxy the environment names, TLS
verification)."""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import parse_qsl

import anyio
import pytest

from sunmi_face_async import AsyncSunmiFace, ValidationError, _backend
from tests._backends import AIOHTTP_INSTALLED, BACKENDS
from tests._reference import reference_sign
from tests.hostile._loopback import Loopback, Stream, envelope, serving

KEY = "backend-test-key-0123456789"
JPEG = b"\xff\xd8\xff\xe0" + bytes(3000)
needs_aiohttp = pytest.mark.skipif(not AIOHTTP_INSTALLED, reason="aiohttp is not installed")


def _client(base_url: str = "http://127.0.0.1:9/openapi", **options: Any) -> AsyncSunmiFace:
    return AsyncSunmiFace("BACKENDAPP", KEY, sunmi_shop_no="77", base_url=base_url, **options)


def _kind(client: AsyncSunmiFace) -> str:
    return type(client._transport.connections).__name__


@pytest.fixture(autouse=True)
def _no_backend_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUNMI_BACKEND", raising=False)


def test_httpx_is_the_default() -> None:
    assert _kind(_client()) == "Pools"


@needs_aiohttp
@pytest.mark.parametrize(
    ("backend", "kind"), [("aiohttp", "AiohttpPools"), ("auto", "AiohttpPools")]
)
def test_aiohttp_and_auto_pick_aiohttp_on_asyncio(backend: str, kind: str) -> None:
    async def build() -> str:
        async with _client(backend=backend) as api:
            return _kind(api)

    assert anyio.run(build) == kind


def test_auto_without_aiohttp_or_with_a_transport_is_httpx(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import httpx

    mock = httpx.MockTransport(lambda request: httpx.Response(200))
    assert _kind(_client(backend="auto", transport=mock)) == "Pools"
    monkeypatch.setattr(_backend, "aiohttp_installed", lambda: False)
    assert _kind(_client(backend="auto")) == "Pools"


def test_aiohttp_missing_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_backend, "aiohttp_installed", lambda: False)
    with pytest.raises(ValidationError) as caught:
        _client(backend="aiohttp")
    assert str(caught.value) == (
        "backend: 'aiohttp' is not installed; pip install 'sunmi-face-async[aiohttp]'"
    )
    monkeypatch.setenv("SUNMI_BACKEND", "aiohttp")
    with pytest.raises(ValidationError, match=r"^SUNMI_BACKEND: names 'aiohttp', which is not"):
        _client()


@pytest.mark.parametrize("value", ["requests", "", "HTTPX", 3])
def test_an_unknown_backend_is_refused(value: object) -> None:
    with pytest.raises(
        ValidationError, match=r"^backend: must be one of 'httpx', 'aiohttp', 'auto'"
    ):
        _client(backend=value)  # type: ignore[arg-type]


def test_aiohttp_with_an_httpx_transport_is_refused() -> None:
    import httpx

    mock = httpx.MockTransport(lambda request: httpx.Response(200))
    with pytest.raises(ValidationError, match=r"^backend: 'aiohttp' sends through its own"):
        _client(backend="aiohttp", transport=mock)


@needs_aiohttp
def test_under_trio_aiohttp_is_refused_and_auto_runs_on_httpx(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def main() -> tuple[str, str, list[object]]:
        with pytest.raises(ValidationError) as caught:
            _client(backend="aiohttp")
        async with serving(_answer) as server:
            server.seen = []  # type: ignore[attr-defined]
            async with _client(server.base_url(), backend="auto") as api:
                kind = _kind(api)
                groups = await api.groups.list()
            monkeypatch.setenv("SUNMI_BACKEND", "aiohttp")  # a default: trio stays on httpx
            async with _client(server.base_url()) as api:
                kind += "/" + _kind(api)
        return str(caught.value), kind, groups

    message, kind, groups = anyio.run(main, backend="trio")
    assert message == "backend: 'aiohttp' runs on asyncio only; under trio use backend='httpx'"
    assert kind == "Pools/Pools"
    assert groups == []


@needs_aiohttp
def test_an_aiohttp_client_built_outside_a_loop_refuses_trio_at_its_first_call() -> None:
    api = _client(backend="aiohttp")

    async def main() -> None:
        async with api:
            await api.groups.list()

    with pytest.raises(ValidationError, match="runs on asyncio only"):
        anyio.run(main, backend="trio")


async def _answer(server: Loopback, stream: Stream, request: bytes) -> bool:
    server.seen.append(request)  # type: ignore[attr-defined]
    await stream.send(envelope(request))
    return True


def _split(request: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = request.partition(b"\r\n\r\n")
    line, *fields = head.decode("latin-1").split("\r\n")
    headers = {}
    for field in fields:
        name, _, value = field.partition(":")
        headers[name.strip().lower()] = value.strip()
    return line, headers, body


def _multipart_fields(body: bytes, content_type: str) -> dict[str, bytes]:
    boundary = content_type.split("boundary=", 1)[1].encode()
    fields = {}
    for part in body.split(b"--" + boundary)[1:-1]:
        head, _, value = part.strip(b"\r\n").partition(b"\r\n\r\n")
        name = head.split(b'name="', 1)[1].split(b'"', 1)[0].decode()
        fields[name] = value
    return fields


async def _exchange(backend: str, proxy: bool = False) -> list[bytes]:
    async with serving(_answer) as server:
        server.seen = []  # type: ignore[attr-defined]
        base = "http://sunmi.invalid/openapi" if proxy else server.base_url()
        async with _client(base, backend=backend) as api:
            await api.groups.list()
            await api.faces.add("9", pic=JPEG, name="Mike")
        return server.seen  # type: ignore[attr-defined, no-any-return]


@pytest.mark.parametrize("backend", BACKENDS)
def test_both_backends_send_the_same_signed_requests(backend: str) -> None:
    form_request, upload_request = anyio.run(_exchange, backend)

    line, headers, body = _split(form_request)
    assert line == "POST /openapi/face/group/getList HTTP/1.1"
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert headers["accept"] == "application/json"
    assert headers["user-agent"].startswith("sunmi-face-async/")
    assert headers["content-length"] == str(len(body))
    assert "cookie" not in headers
    form = dict(parse_qsl(body.decode("ascii"), keep_blank_values=True))
    assert form["app_id"] == "BACKENDAPP"
    assert form["sunmi_shop_no"] == "77"
    assert form["sign"] == reference_sign(form, KEY)

    line, headers, body = _split(upload_request)
    assert line == "POST /openapi/face/add HTTP/1.1"
    assert headers["content-type"].startswith("multipart/form-data; boundary=")
    fields = _multipart_fields(body, headers["content-type"])
    assert fields["pic"] == JPEG
    text = {k: v.decode() for k, v in fields.items() if k != "pic"}
    assert text["group_id"] == "9"
    assert text["name"] == "Mike"
    assert text["sign"] == reference_sign(text, KEY)


@pytest.mark.parametrize("backend", BACKENDS)
def test_both_backends_use_the_proxy_the_environment_names(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder: dict[str, int] = {}

    async def main() -> list[bytes]:
        async with serving(_answer) as server:
            server.seen = []  # type: ignore[attr-defined]
            holder["port"] = server.port
            monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.port}")
            monkeypatch.delenv("NO_PROXY", raising=False)
            monkeypatch.delenv("no_proxy", raising=False)
            async with _client("http://sunmi.invalid/openapi", backend=backend) as api:
                await api.groups.list()
            return server.seen  # type: ignore[attr-defined, no-any-return]

    (request,) = anyio.run(main)
    line, headers, _ = _split(request)
    # An http:// URL through a proxy: the absolute URL on the request line, to the proxy.
    assert line == "POST http://sunmi.invalid/openapi/face/group/getList HTTP/1.1"
    assert headers["host"] == "sunmi.invalid"


@needs_aiohttp
def test_the_aiohttp_backend_verifies_certificates_and_host_names() -> None:
    async def main() -> ssl.SSLContext:
        async with _client("https://store.sunmi.com/openapi", backend="aiohttp") as api:
            connections = api._transport.connections
            return connections._tls  # type: ignore[attr-defined, no-any-return]

    context = anyio.run(main)
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname is True
