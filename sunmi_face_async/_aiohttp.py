"""The aiohttp backend: the same ``Pools`` (places, cancel scopes, deadlines, closing), with
each exchange sent through one ``aiohttp.ClientSession`` instead of httpx's pools.

Only the exchange differs. Everything a caller can observe is kept as the httpx path has it:
the request's headers, the connection limit (one place per connection, so aiohttp's own
connector never queues), the response cap (read chunk by chunk), TLS verification (httpx's
context, so the same CA bundle), the proxy the environment names (read by the same rule, not
by aiohttp's ``trust_env``, which would also read ``.netrc``), no cookies, no redirects.

Failure classification follows what was written, not aiohttp's exception types: aiohttp
reports a server that closes after reading the whole request as ``ServerDisconnectedError``,
a ``ClientConnectionError`` like a refused connection. The attempt is marked written the moment
aiohttp, holding a connection, starts sending the request (``ClientRequest.send``, reached
through the session's documented ``request_class``), and every aiohttp error is turned into
the httpx error the httpx path raises for it, carrying ``sent`` from that mark. (aiohttp's
trace hooks would tell the same moment, but configuring any trace makes aiohttp emit all its
signals on every request: measured 30-50 µs per request, a fifth of a bare aiohttp request.)
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any

import aiohttp
import httpx
import sniffio
from multidict import CIMultiDictProxy
from yarl import URL

from ._pools import HEADERS, KEEPALIVE_EXPIRY, MAX_RESPONSE_BYTES, Pools, Progress, Reply
from ._pools import environment_proxy as _environment_proxy
from .errors import ValidationError

__all__ = ["AiohttpPools"]

_HEADERS_STARTED = "http11.send_request_headers.started"
_NO_INFO: dict[str, Any] = {}
#: The attempt whose request this task is sending (read by ``_Request.send``).
_ATTEMPT: ContextVar[Progress | None] = ContextVar("sunmi_face_attempt", default=None)
_CAUGHT = (aiohttp.ClientError, OSError, asyncio.TimeoutError)
_PROTOCOL = (
    aiohttp.ServerDisconnectedError,
    aiohttp.ClientPayloadError,
    aiohttp.ClientResponseError,
)


class _Reply:
    """The parts of an aiohttp response the transport reads (no httpx ``Response``)."""

    __slots__ = ("headers", "reason_phrase", "status_code")

    def __init__(self, status: int, reason: str | None, headers: CIMultiDictProxy[str]) -> None:
        self.status_code = status
        self.reason_phrase = reason or ""
        self.headers = headers


class AiohttpPools(Pools):
    """``Pools`` whose exchange is one aiohttp request; the session opens on first use, in
    the running asyncio loop (aiohttp binds it to that loop)."""

    def __init__(self, max_connections: int, timeout: float | httpx.Timeout, base_url: str) -> None:
        super().__init__([], timeout=timeout, capacity=max_connections, traced=True)
        bounds = httpx.Timeout(timeout)
        self._max_connections = max_connections
        # connect bounds the TCP connect and TLS handshake, sock_read each read, as httpx's
        # connect and read timeouts do; the attempt's total limit bounds the write.
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=bounds.connect, sock_read=bounds.read
        )
        self._tls = httpx.create_ssl_context() if base_url.startswith("https:") else None
        self._proxy = _checked_proxy(_environment_proxy(base_url))
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def url(self, text: str) -> URL:
        return URL(text)

    def build(
        self, url: Any, content: bytes, content_type: str, progress: Progress
    ) -> tuple[URL, bytes, dict[str, str], Progress]:
        return url, content, {"Content-Type": content_type}, progress

    def _open_session(self) -> aiohttp.ClientSession:
        if sniffio.current_async_library() != "asyncio":
            raise ValidationError(
                "backend", "'aiohttp' runs on asyncio only; under trio use backend='httpx'"
            )
        connector = aiohttp.TCPConnector(
            limit=self._max_connections,
            limit_per_host=0,
            ssl=self._tls if self._tls is not None else True,
            keepalive_timeout=KEEPALIVE_EXPIRY,
        )
        self._loop = asyncio.get_running_loop()
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers=HEADERS,
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=self._timeout,
            request_class=_Request,
            trust_env=False,
            auto_decompress=True,
        )
        return self._session

    async def _exchange(self, request: Any) -> tuple[Reply, bytes | None]:
        url, content, headers, progress = request
        session = self._session
        if session is None:
            session = self._open_session()
        elif self._loop is not asyncio.get_running_loop():
            raise RuntimeError(
                "this AsyncSunmiFace opened its aiohttp connections on another event loop; "
                "make one client per event loop (e.g. in the application's lifespan)"
            )
        timeout = self._timeout
        if progress.call_timeout is not None:  # with_options(timeout=...): this call's own
            own = progress.call_timeout
            timeout = aiohttp.ClientTimeout(total=None, connect=own.connect, sock_read=own.read)
        attempt = _ATTEMPT.set(progress)
        try:
            async with session.post(
                url,
                data=content,
                headers=headers,
                proxy=self._proxy,
                allow_redirects=False,
                timeout=timeout,
            ) as response:
                body = await _read_capped(response)
                if body is None:
                    response.close()  # the rest is never read: the connection goes
                return _Reply(response.status, response.reason, response.headers), body
        except _CAUGHT as exc:
            raise _translate(exc, written=progress.written) from exc
        finally:
            _ATTEMPT.reset(attempt)

    async def _close_pools(self) -> None:
        if self._session is not None:
            await self._session.close()

    def __repr__(self) -> str:
        return "<Pools aiohttp>"


class _Request(aiohttp.ClientRequest):
    """aiohttp's request, telling the attempt when it starts sending: from then on the
    server may see it."""

    async def send(self, conn: Any) -> aiohttp.ClientResponse:
        progress = _ATTEMPT.get()
        if progress is not None:
            # Reported as httpcore names the same moment, so ``Progress.trace`` stays the one
            # place that learns how far an attempt got, whichever backend sent it.
            await progress.trace(_HEADERS_STARTED, _NO_INFO)
        return await super().send(conn)


async def _read_capped(response: aiohttp.ClientResponse) -> bytes | None:
    """The body, or None once it grows past the cap; a declared length over the cap is
    refused at once, and a smaller one is not trusted (the bytes are counted)."""
    declared = response.content_length
    if declared is not None and declared > MAX_RESPONSE_BYTES:
        return None
    stream = response.content
    chunks = []
    size = 0
    while chunk := await stream.readany():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            return None
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _translate(exc: BaseException, *, written: bool) -> httpx.TransportError:
    """The httpx error the httpx path raises for this failure, with ``sent`` from what was
    written (never from the exception's type)."""
    message = str(exc) or type(exc).__name__
    error: httpx.TransportError
    if isinstance(exc, aiohttp.InvalidURL):
        error = httpx.UnsupportedProtocol(message)
    elif isinstance(exc, asyncio.TimeoutError):
        error = httpx.ReadTimeout(message) if written else httpx.ConnectTimeout(message)
    elif not written:
        error = httpx.ConnectError(message)
    elif isinstance(exc, _PROTOCOL):
        error = httpx.RemoteProtocolError(message)
    else:
        error = httpx.ReadError(message)
    setattr(error, "sent", written)  # noqa: B010  # read by the transport's classifier
    return error


def _checked_proxy(proxy: str | None) -> str | None:
    if proxy is not None and not proxy.lower().startswith(("http://", "https://")):
        scheme = proxy.split("://", 1)[0]
        raise ValidationError(
            "backend", f"'aiohttp' cannot use the environment's {scheme}:// proxy; use 'httpx'"
        )
    return proxy
