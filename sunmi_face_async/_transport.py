"""The signed transport: one method that turns (endpoint, parameters) into ``data`` or an error.

It adds the common parameters, signs every attempt afresh, encodes the form or multipart
body, sends it through the least busy connection pool (``_pools``), parses the envelope,
maps failures to the error tree and runs the retry loop. Nothing above it deals with HTTP.
"""

from __future__ import annotations

import hashlib
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
from ._deadline import start_budget
from ._endpoints import Endpoint
from ._events import LOG_ONLY, CallWatch, Signals, log_attempt
from ._lifecycle import LoopHome
from ._options import bound_attempt
from ._pools import MAX_RESPONSE_BYTES, Closed, Pools, Reply
from ._retry import Failure, RetryPolicy, next_delay, parse_retry_after
from .errors import (
    APIError,
    ClientClosedError,
    ProtocolError,
    RequestTimeout,
    SunmiError,
    TransportError,
    ValidationError,
    error_for_code,
)
from .pictures import MAX_BODY_BYTES, picture_format
from .signing import canonical_string, format_value, make_nonce

__all__ = ["Transport"]

logger = logging.getLogger("sunmi_face_async")

_FORM = "application/x-www-form-urlencoded"
_URL_SAFE = re.compile(r"[A-Za-z0-9_.~-]*\Z")

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
_CODE_FAILURES = {5091: Failure.CLOCK, 5092: Failure.NONCE, 5000: Failure.SERVER}


class _Secret:
    """Holds the app_key so that no repr, traceback local or log ever shows it.

    It signs by itself: the key goes into the hash as bytes and is never a plain local of a
    frame an exception can pass through (error trackers record frames' locals).
    """

    __slots__ = ("_bytes",)

    def __init__(self, value: str) -> None:
        self._bytes = value.encode("utf-8")

    def sign(self, fields: Mapping[str, str]) -> str:
        """The SUNMI sign of ``fields`` (all of them already checked to be UTF-8 text)."""
        digest = hashlib.md5(canonical_string(fields).encode("utf-8"), usedforsecurity=False)
        digest.update(b"&key=")
        digest.update(self._bytes)
        return digest.hexdigest().upper()

    def __repr__(self) -> str:
        return "<secret>"


class Transport:
    """Signs, sends, retries and decodes calls for one integrator (app id and key)."""

    def __init__(
        self,
        app_id: str,
        key: _Secret,
        *,
        base_url: str,
        timeout: float | httpx.Timeout,
        retry: RetryPolicy,
        max_connections: int,
        http_client: httpx.AsyncClient | None,
        transport: httpx.AsyncBaseTransport | None,
        backend: str = "httpx",
    ) -> None:
        self.app_id = app_id
        self._key = key
        self.base_url = base_url.rstrip("/")
        self.retry = retry
        # What bounds a request: the caller's client's own timeout when one is given.
        self.timeout = http_client.timeout if http_client is not None else timeout
        if http_client is not None:
            self.connections = Pools([], timeout=http_client.timeout, client=http_client)
        elif transport is not None:
            self.connections = Pools([transport], timeout=timeout)
        elif backend == "aiohttp":
            from ._aiohttp import AiohttpPools  # imported only when chosen: an optional extra

            self.connections = AiohttpPools(max_connections, timeout, self.base_url)
        else:
            self.connections = Pools.owned(max_connections, timeout, self.base_url)
        self._urls: dict[str, Any] = {}  # per endpoint, parsed by the backend
        self.deadline: float | None = None  # a call's deadline (with_options)
        self.call_timeout: httpx.Timeout | None = None  # a per-call timeout (with_options)
        self.signals: Signals | None = None  # on_attempt hooks and tracing (_events)
        self.home = LoopHome(bound=transport is None)  # the event loop the connections are on

    @property
    def pool_count(self) -> int:
        return max(len(self.connections.pools), 1)

    async def aclose(self) -> None:
        await self.connections.aclose()

    async def call(
        self,
        endpoint: Endpoint,
        params: Mapping[str, object],
        shop: Mapping[str, str],
        *,
        pic: bytes | None = None,
    ) -> Any:
        """Send one call (with retries) and return the envelope's ``data``.

        Each attempt is bounded by the pools' total limit, cut to what is left of the call's
        deadline; see ``RetryPolicy`` for the bound on a whole call. With hooks, tracing or
        debug logging the call runs watched (``_events``: an attempt cancelled in flight is
        reported too).
        """
        self.home.check()
        signals = self.signals
        if signals is None:
            if not logger.isEnabledFor(logging.DEBUG):
                return await self._attempts(endpoint, params, shop, pic, None)
            signals = LOG_ONLY
        with signals.watch(endpoint) as watch:
            return await self._attempts(endpoint, params, shop, pic, watch)

    async def _attempts(
        self,
        endpoint: Endpoint,
        params: Mapping[str, object],
        shop: Mapping[str, str],
        pic: bytes | None,
        watch: CallWatch | None,
    ) -> Any:
        business = self.business(params, shop)
        url = self._urls.get(endpoint.path)
        if url is None:
            url = self._urls[endpoint.path] = self.connections.url(self.base_url + endpoint.path)
        attempt = quick_retries = 0
        budget = start_budget(self.deadline, self.retry.total)
        while True:
            attempt += 1
            started = time.perf_counter()
            content, content_type = self.encode(endpoint, business, pic)
            progress = self.connections.progress()
            request = self.connections.build(url, content, content_type, progress)
            if watch is not None:  # so an attempt cancelled in flight is reported too
                watch.begin(attempt, started, progress)
            status: int | None = None
            code: int | None = None
            error: SunmiError | None
            limit = None
            if budget is not None or self.call_timeout is not None:
                limit = bound_attempt(self, budget, request, progress)
            try:
                response, body = await self.connections.send(request, progress, limit)
            except httpx.HTTPError as exc:
                failure, error = _classify_exception(exc, endpoint)
            else:
                status = response.status_code
                data, code, failure, error = _interpret(response, body, endpoint)
            if error is None:
                self._log(watch, endpoint, attempt, status, code, started, None)
                return data
            self._log(watch, endpoint, attempt, status, code, started, error)
            if budget is not None:
                budget.judge(error, attempt, endpoint)  # raises when the deadline cut it
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
            if budget is not None:
                budget.check_retry(delay, error, attempt, endpoint)
            if failure in (Failure.CLOCK, Failure.NONCE):
                quick_retries += 1
            logger.debug("%s: retrying in %.3f s after %s", endpoint.path, delay, failure.value)
            if delay > 0:
                with self.connections.guard() as waiting:
                    await self.retry.sleep(delay)
                if waiting.cancelled_caught:
                    raise ClientClosedError(
                        f"the client was closed while waiting to retry after: {error}",
                        endpoint=endpoint.path,
                        sent=failure not in (Failure.NOT_SENT, Failure.THROTTLED),
                    )

    @staticmethod
    def business(params: Mapping[str, object], shop: Mapping[str, str]) -> dict[str, str]:
        """The call's own parameters and the store's, in wire form, each checked to be text
        that can be signed and sent (a lone surrogate would otherwise fail inside signing)."""
        business: dict[str, str] = {}
        for name, value in params.items():
            if value is not None:
                business[name] = _sendable(name, format_value(value))
        for name, value in shop.items():
            business[name] = _sendable(name, value)
        return business

    def check(
        self,
        endpoint: Endpoint,
        params: Mapping[str, object],
        shop: Mapping[str, str],
        pic: bytes | None = None,
    ) -> int:
        """Encode the call's body exactly as ``call`` would, send nothing, and return its size
        (raising ``ValidationError`` where ``call`` would)."""
        content, _ = self.encode(endpoint, self.business(params, shop), pic)
        return len(content)

    def encode(
        self, endpoint: Endpoint, business: dict[str, str], pic: bytes | None
    ) -> tuple[bytes, str]:
        """The signed body of one attempt and its content type; over 1 MB is refused."""
        fields = dict(business)
        fields["app_id"] = self.app_id
        fields["timestamp"] = str(int(time.time()))
        fields["random"] = make_nonce()
        fields["sign"] = self._key.sign(fields)
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
        return content, content_type

    @staticmethod
    def _log(
        watch: CallWatch | None,
        endpoint: Endpoint,
        attempt: int,
        status: int | None,
        code: int | None,
        started: float,
        error: SunmiError | None,
    ) -> None:
        if watch is not None:
            watch.attempt(attempt, status, code, started, error)
        elif logger.isEnabledFor(logging.DEBUG):
            log_attempt(endpoint, attempt, status, code, time.perf_counter() - started)


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


def has_surrogate(value: str) -> bool:
    """Whether ``value`` holds a lone surrogate (found without raising an encoding error,
    whose args would repeat the whole string)."""
    return not value.isascii() and any("\ud800" <= char <= "\udfff" for char in value)


def _sendable(field: str, value: str) -> str:
    if has_surrogate(value):
        raise ValidationError(field, "is not valid Unicode text (lone surrogate)")
    return value


def _classify_exception(exc: httpx.HTTPError, endpoint: Endpoint) -> tuple[Failure, SunmiError]:
    sent = getattr(exc, "sent", None)
    if not isinstance(sent, bool):
        sent = not isinstance(exc, _NOT_SENT)
    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, Closed):
        return Failure.FINAL, ClientClosedError(str(exc), endpoint=endpoint.path, sent=sent)
    kind = RequestTimeout if isinstance(exc, httpx.TimeoutException) else TransportError
    error = kind(message, endpoint=endpoint.path, sent=sent)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return Failure.FINAL, error
    return (Failure.OUTCOME_UNKNOWN if sent else Failure.NOT_SENT), error


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
    response: Reply, content: bytes | None, endpoint: Endpoint
) -> tuple[Any, int | None, Failure, SunmiError | None]:
    """Split a response into ``(data, code, failure, error)``; ``error`` is None on success."""
    status = response.status_code
    if content is None:
        error = ProtocolError(
            f"the response body is larger than {MAX_RESPONSE_BYTES // 2**20} MB",
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
