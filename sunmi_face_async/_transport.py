"""The signed transport: one method that turns (endpoint, parameters) into ``data`` or an error.

It adds the common parameters, signs every attempt afresh, encodes the form or multipart
body, sends it over the least busy of its httpx clients, parses the envelope, maps failures
to the error tree and runs the retry loop. Nothing above it deals with HTTP.

Why several httpx clients: one ``httpx.AsyncClient`` with many connections spends most of its
time in its pool's bookkeeping once dozens of requests are in flight (DESIGN.md measured 0.10
of the ideal rate at 64 connections). Small shards (``CONNECTIONS_PER_SHARD``) keep that cost
small, so ``max_connections`` is spread over several clients.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_plus

import httpx

from ._convert import parse_int_text
from ._endpoints import Endpoint
from ._retry import Failure, RetryPolicy, next_delay, parse_retry_after
from ._signing import format_value, make_nonce, sign_params
from ._version import __version__
from .errors import (
    APIError,
    ProtocolError,
    RequestTimeout,
    SunmiError,
    TransportError,
    ValidationError,
    error_for_code,
)
from .pictures import MAX_BODY_BYTES, picture_format

__all__ = ["CONNECTIONS_PER_SHARD", "Transport"]

logger = logging.getLogger("sunmi_face_async")

#: The most connections one owned httpx client gets; more are spread over several clients.
#: httpcore's pool does work proportional to its size on every request; measured on 2 cores
#: at 64 requests in flight, shards of 4 cost about half the CPU per request of shards of 16.
CONNECTIONS_PER_SHARD = 4
_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
_USER_AGENT = f"sunmi-face-async/{__version__}"
_FORM = "application/x-www-form-urlencoded"
#: Idle connections are dropped before common 5 s server keep-alive timeouts end, so a
#: request is not written into a socket the server is closing (an ambiguous failure).
_KEEPALIVE_EXPIRY = 4.0
_URL_SAFE = re.compile(r"[A-Za-z0-9_.~-]*\Z")

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
_CODE_FAILURES = {5091: Failure.CLOCK, 5092: Failure.NONCE, 5000: Failure.SERVER}


class _Secret:
    """Holds the app_key so that no repr, traceback local or log ever shows it."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "<secret>"


class Transport:
    """Signs, sends, retries and decodes calls for one integrator (app id and key)."""

    def __init__(
        self,
        app_id: str,
        app_key: str,
        *,
        base_url: str,
        timeout: float | httpx.Timeout,
        retry: RetryPolicy,
        max_connections: int,
        http_client: httpx.AsyncClient | None,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self.app_id = app_id
        self._key = _Secret(app_key)
        self.base_url = base_url.rstrip("/")
        self.retry = retry
        self.timeout = timeout
        self._owns_clients = http_client is None
        if http_client is not None:
            self._clients = [http_client]
        else:
            self._clients = _owned_clients(max_connections, timeout, transport)
        self._busy = [0] * len(self._clients)
        self._urls: dict[str, httpx.URL] = {}

    @property
    def shard_count(self) -> int:
        return len(self._clients)

    async def aclose(self) -> None:
        if self._owns_clients:
            for client in self._clients:
                await client.aclose()

    async def call(
        self,
        endpoint: Endpoint,
        params: Mapping[str, object],
        shop: Mapping[str, str],
        *,
        pic: bytes | None = None,
    ) -> Any:
        """Send one call (with retries) and return the envelope's ``data``."""
        business = {key: format_value(v) for key, v in params.items() if v is not None}
        business.update(shop)
        url = self._urls.get(endpoint.path)
        if url is None:
            url = self._urls[endpoint.path] = httpx.URL(self.base_url + endpoint.path)
        attempt = quick_retries = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            request = self._build(endpoint, url, business, pic)
            status: int | None = None
            code: int | None = None
            error: SunmiError | None
            try:
                response, body = await self._send(request)
            except httpx.HTTPError as exc:
                failure, error = _classify_exception(exc, endpoint)
            else:
                status = response.status_code
                data, code, failure, error = _interpret(response, body, endpoint)
            if error is None:
                self._log(endpoint, attempt, status, code, started)
                return data
            self._log(endpoint, attempt, status, code, started)
            retry_after = getattr(error, "retry_after", None)
            delay = next_delay(
                failure,
                creates=endpoint.creates,
                attempt=attempt,
                policy=self.retry,
                retry_after=retry_after,
                quick_retries_used=quick_retries,
            )
            if delay is None:
                raise error
            if failure in (Failure.CLOCK, Failure.NONCE):
                quick_retries += 1
            logger.debug("%s: retrying in %.3f s after %s", endpoint.path, delay, failure.value)
            if delay > 0:
                await self.retry.sleep(delay)

    def _build(
        self, endpoint: Endpoint, url: httpx.URL, business: dict[str, str], pic: bytes | None
    ) -> httpx.Request:
        fields = dict(business)
        fields["app_id"] = self.app_id
        fields["timestamp"] = str(int(time.time()))
        fields["random"] = make_nonce()
        fields["sign"] = sign_params(fields, self._key.value)
        if endpoint.multipart:
            if pic is None:
                raise ValidationError("pic", "a picture is required")
            content, content_type = _multipart(fields, pic)
            if len(content) > MAX_BODY_BYTES:
                raise ValidationError(
                    "pic", f"the request body would be {len(content)} bytes; the limit is 1 MB"
                )
        else:
            content, content_type = _form(fields), _FORM
            if len(content) > MAX_BODY_BYTES:
                largest = max(business, key=lambda name: len(business[name]))
                raise ValidationError(
                    largest, f"makes the request body {len(content)} bytes; the limit is 1 MB"
                )
        client = self._clients[0]
        return client.build_request(
            "POST", url, content=content, headers={"Content-Type": content_type}
        )

    async def _send(self, request: httpx.Request) -> tuple[httpx.Response, bytes | None]:
        """Send through the least busy client; the body is None if it is over the cap."""
        index = 0
        if len(self._clients) > 1:
            busy = self._busy
            index = busy.index(min(busy))
        self._busy[index] += 1
        try:
            response = await self._clients[index].send(request, stream=True)
            try:
                body = await _read_capped(response)
            finally:
                await response.aclose()
            return response, body
        finally:
            self._busy[index] -= 1

    def _log(
        self, endpoint: Endpoint, attempt: int, status: int | None, code: int | None, started: float
    ) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "POST %s attempt=%d http_status=%s code=%s elapsed_ms=%.1f",
                endpoint.path,
                attempt,
                status if status is not None else "-",
                code if code is not None else "-",
                (time.perf_counter() - started) * 1000,
            )


def _shard_sizes(max_connections: int) -> list[int]:
    """Split ``max_connections`` into as few shards of at most CONNECTIONS_PER_SHARD as can
    hold them, as even as possible, adding up exactly."""
    shards = -(-max_connections // CONNECTIONS_PER_SHARD)
    base, extra = divmod(max_connections, shards)
    return [base + 1 if index < extra else base for index in range(shards)]


def _owned_clients(
    max_connections: int,
    timeout: float | httpx.Timeout,
    transport: httpx.AsyncBaseTransport | None,
) -> list[httpx.AsyncClient]:
    """The httpx clients the transport owns: one per shard, sharing one TLS context.

    Sharing the context matters: each client would otherwise load the CA bundle again
    (about 35 ms apiece). A plugged-in ``transport`` manages its own connections, so it gets
    a single client and no TLS context at all.
    """
    headers = {"User-Agent": _USER_AGENT}
    if transport is not None:
        return [httpx.AsyncClient(transport=transport, timeout=timeout, headers=headers)]
    tls = httpx.create_ssl_context()  # verification on: CERT_REQUIRED and host names
    return [
        httpx.AsyncClient(
            verify=tls,
            timeout=timeout,
            limits=httpx.Limits(
                max_connections=size,
                max_keepalive_connections=size,
                keepalive_expiry=_KEEPALIVE_EXPIRY,
            ),
            headers=headers,
        )
        for size in _shard_sizes(max_connections)
    ]


def _form(fields: Mapping[str, str]) -> bytes:
    """The urlencoded body; most values are plain ids and numbers and skip quoting."""
    return "&".join(
        f"{key}={value if _URL_SAFE.match(value) else quote_plus(value)}"
        for key, value in fields.items()
    ).encode("ascii")


def _multipart(fields: Mapping[str, str], pic: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body with the text fields and the picture as ``pic``."""
    boundary = secrets.token_hex(16)
    kind = picture_format(pic) or "jpeg"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="pic"; '
        f'filename="face.{kind}"\r\nContent-Type: image/{kind}\r\n\r\n'.encode()
    )
    parts.append(pic)
    parts.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _classify_exception(exc: httpx.HTTPError, endpoint: Endpoint) -> tuple[Failure, SunmiError]:
    sent = not isinstance(exc, _NOT_SENT)
    kind = RequestTimeout if isinstance(exc, httpx.TimeoutException) else TransportError
    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    error = kind(message, endpoint=endpoint.path, sent=sent)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return Failure.FINAL, error
    return (Failure.OUTCOME_UNKNOWN if sent else Failure.NOT_SENT), error


async def _read_capped(response: httpx.Response) -> bytes | None:
    """The response body, or None once it grows past the cap (the rest is never read)."""
    declared = response.headers.get("Content-Length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > _MAX_RESPONSE_BYTES:
        return None
    chunks = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > _MAX_RESPONSE_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _snippet(content: bytes) -> str:
    return content[:200].decode("utf-8", "replace")


def _envelope(content: bytes) -> tuple[int, str, Any] | None:
    """``(code, msg, data)`` if the body is a SUNMI envelope, else None."""
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    if not isinstance(body, dict):
        return None
    raw_code = body.get("code")
    if isinstance(raw_code, bool):
        return None
    if isinstance(raw_code, int):
        code = raw_code
    elif isinstance(raw_code, str) and (parsed := parse_int_text(raw_code)) is not None:
        code = parsed
    else:
        return None
    msg = body.get("msg")
    return code, msg if isinstance(msg, str) else "", body.get("data")


def _interpret(
    response: httpx.Response, content: bytes | None, endpoint: Endpoint
) -> tuple[Any, int | None, Failure, SunmiError | None]:
    """Split a response into ``(data, code, failure, error)``; ``error`` is None on success."""
    status = response.status_code
    if content is None:
        error = ProtocolError(
            f"the response body is larger than {_MAX_RESPONSE_BYTES // 2**20} MB",
            endpoint=endpoint.path,
            http_status=status,
        )
        return None, None, Failure.FINAL, error
    envelope = _envelope(content)
    if envelope is None and 200 <= status < 300:
        message = "the response is not a SUNMI JSON envelope"
        error = ProtocolError(
            message, endpoint=endpoint.path, http_status=status, snippet=_snippet(content)
        )
        return None, None, Failure.FINAL, error
    code, msg, data = envelope if envelope is not None else (None, "", None)
    if 200 <= status < 300 and code == 0:
        return data, code, Failure.FINAL, None
    if status == 429:
        failure = Failure.THROTTLED
    elif status >= 500:
        failure = Failure.SERVER
    else:
        failure = _CODE_FAILURES.get(code, Failure.FINAL) if code is not None else Failure.FINAL
    unknown = endpoint.creates and failure is Failure.SERVER
    if not msg:
        msg = response.reason_phrase or f"HTTP {status}"
        if envelope is None and content:
            msg = f"{msg}: {_snippet(content)!r}"
    error_class = error_for_code(code, status)
    api_error: APIError = error_class(
        code,
        msg,
        endpoint=endpoint.path,
        http_status=status,
        outcome_unknown=unknown,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
    )
    return None, code, failure, api_error
