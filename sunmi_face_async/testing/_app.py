"""The fake cloud's ASGI app (starlette): the gateway, the API routes and the admin routes.

A request to ``/openapi/<path>`` goes: body size (HTTP 413), form parsing (5020), the
gatekeeper (auth codes), the fault draw (latency, throttle, error, drop), the handler, and
for commit-then-timeout a dropped connection after the change is applied. Admin routes under
``/_fake/`` are unsigned and never faulted; they exist only on the fake.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import anyio
import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ._admin import admin_routes
from ._handlers import HANDLERS
from ._handlers import Request as HandlerRequest
from ._state import FakeAPIError

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator

    from .fake import FakeSunmiCloud

__all__ = ["API_PREFIX", "ConnectionDropped", "HideDroppedConnections", "build_app"]

API_PREFIX = "/openapi"


class ConnectionDropped(httpx.RemoteProtocolError):
    """Raised by the app to drop the connection after the response has started.

    In-process, httpx's ASGITransport passes it to the client as a transport error; under
    uvicorn the server closes the socket mid-response and the client sees its own error.
    """


class HideDroppedConnections(logging.Filter):
    """Keeps uvicorn from logging a traceback for every connection the fake drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionDropped)


class _DropResponse(Response):
    """Starts a response, then drops the connection before any byte of the body."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"64")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        raise ConnectionDropped("the fake cloud dropped the connection")


def _envelope(
    code: int,
    msg: str,
    data: Any = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    background: BackgroundTask | None = None,
) -> Response:
    body = json.dumps({"code": code, "msg": msg, "data": data}, ensure_ascii=False)
    return Response(
        body.encode(), status, headers, media_type="application/json", background=background
    )


def _error(exc: FakeAPIError) -> Response:
    return _envelope(exc.code, exc.msg, status=exc.http_status)


async def _read_body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise FakeAPIError(5020, "request body over 1 MB", http_status=413)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise FakeAPIError(5020, "request body over 1 MB", http_status=413)
        chunks.append(chunk)
    return b"".join(chunks)


async def _parse_form(request: Request, body: bytes) -> tuple[dict[str, str], bytes | None]:
    """The form fields (first value of each) and the ``pic`` file's bytes, if any."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):

        async def stream() -> AsyncGenerator[bytes, None]:
            yield body
            yield b""

        try:
            form = await MultiPartParser(Headers(scope=request.scope), stream()).parse()
        except MultiPartException as exc:
            raise FakeAPIError(5020, f"malformed multipart body: {exc.message}") from None
        params: dict[str, str] = {}
        pic: bytes | None = None
        try:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    if key == "pic" and pic is None:
                        pic = await value.read()
                else:
                    params.setdefault(key, value)
        finally:
            await form.close()
        return params, pic
    if content_type and not content_type.startswith("application/x-www-form-urlencoded"):
        raise FakeAPIError(5020, "the body must be form-encoded or multipart")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise FakeAPIError(5020, "the body is not UTF-8") from None
    params = {}
    for key, value in pairs:
        params.setdefault(key, value)
    return params, None


def build_app(cloud: FakeSunmiCloud) -> Starlette:
    """The ASGI app serving ``cloud``."""

    async def api(request: Request) -> Response:
        path = "/" + request.path_params["path"]
        handler = HANDLERS.get(path)
        if handler is None:
            return _envelope(404, f"no endpoint {path}", status=404)
        try:
            body = await _read_body(request, cloud.max_body_size)
            params, pic = await _parse_form(request, body)
            shop = cloud.gateway.check(params)
            if not cloud.knows(shop):
                raise FakeAPIError(5041, "invalid integrator for this store (no such store)")
        except FakeAPIError as exc:
            return _error(exc)
        fault = cloud.draw_fault(path)
        if fault.latency > 0:
            await anyio.sleep(fault.latency)
        if fault.kind == "throttle":
            retry_after = str(cloud.faults.retry_after)
            return _envelope(
                429, "too many requests", status=429, headers={"Retry-After": retry_after}
            )
        if fault.kind == "error" and fault.code is not None:
            if 500 <= fault.code <= 599:
                return _envelope(fault.code, "injected server error", status=fault.code)
            return _envelope(fault.code, "injected error")
        if fault.kind == "drop":
            return _DropResponse()
        store = cloud.shop_state(shop)
        try:
            data = handler(store, HandlerRequest(params, cloud.now(), pic))
        except FakeAPIError as exc:
            return _DropResponse() if fault.kind == "commit_then_timeout" else _error(exc)
        background = None
        if path == "/face/add" and cloud.face_added(store, data["face_id"]) and cloud.push_on_add:
            background = BackgroundTask(cloud.deliver_pushes)
        if fault.kind == "commit_then_timeout":
            if background is not None:  # the cloud pushes what it committed, answer or not
                cloud._start_delivery()
            return _DropResponse()
        return _envelope(0, "succeed", data, background=background)

    routes = [Route(API_PREFIX + "/{path:path}", api, methods=["POST"]), *admin_routes(cloud)]
    return Starlette(routes=routes, middleware=[Middleware(StatsMiddleware, cloud=cloud)])


class StatsMiddleware:
    """Counts API requests per endpoint and the requests in flight."""

    def __init__(self, app: ASGIApp, cloud: FakeSunmiCloud) -> None:
        self.app = app
        self.cloud = cloud

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(API_PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        stats = self.cloud.stats
        stats.requests_by_endpoint[path[len(API_PREFIX) :]] += 1
        stats.request_times.append(time.monotonic())
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        try:
            await self.app(scope, receive, send)
        finally:
            self.cloud.stats.in_flight -= 1
