"""The connections a transport sends through: one or several pools, least busy first.

One httpx connection pool does work proportional to its size on every request (it checks
each connection's socket), so a client that keeps dozens of requests in flight through one
pool spends its time on bookkeeping (measured: 0.10 of the ideal rate at 64 connections).
Owned connections are therefore split into small pools of ``CONNECTIONS_PER_POOL``.

Owned pools are ``httpx.AsyncHTTPTransport``s driven directly, without an ``AsyncClient`` on
top: the client's cookie jar, auth, redirect and header-merging layers cost about 40 µs per
request and do nothing for this API. A caller's own ``http_client`` is used as is, through its
public ``build_request``/``send``, so its timeouts, hooks and TLS settings apply.
"""

from __future__ import annotations

import math
import urllib.request
from collections.abc import Mapping
from typing import Any, Protocol

import anyio
import httpx

from ._attempt import Closed, DeadlineExceeded, Progress, attempt_limit
from ._deadline import cap_phases
from ._version import __version__

__all__ = ["CONNECTIONS_PER_POOL", "MAX_RESPONSE_BYTES", "Closed", "Pools", "Progress", "Reply"]

#: The most connections one owned pool gets. Measured on 2 cores at 64 requests in flight,
#: pools of 4 cost about half the client CPU per request of pools of 16 under load.
CONNECTIONS_PER_POOL = 4
#: A larger answer is refused while it streams in (no SUNMI answer comes near it).
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
#: Idle connections are dropped before common 5 s server keep-alive timeouts end, so a
#: request is not written into a socket the server is closing (an ambiguous failure).
KEEPALIVE_EXPIRY = 4.0
#: How long ``aclose`` waits for cancelled calls to unwind before closing the pools.
CLOSE_GRACE = 1.0
HEADERS = {"User-Agent": f"sunmi-face-async/{__version__}", "Accept": "application/json"}


class Reply(Protocol):
    """What the transport reads of an answer: an ``httpx.Response`` or the aiohttp backend's
    lighter record."""

    @property
    def status_code(self) -> int: ...

    @property
    def reason_phrase(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str]: ...


def pool_sizes(max_connections: int) -> list[int]:
    """Split ``max_connections`` into as few pools of at most CONNECTIONS_PER_POOL as hold
    them, as even as possible, adding up exactly."""
    count = -(-max_connections // CONNECTIONS_PER_POOL)
    base, extra = divmod(max_connections, count)
    return [base + 1 if index < extra else base for index in range(count)]


def environment_proxy(base_url: str) -> str | None:
    """The proxy the environment (``HTTPS_PROXY``, ``ALL_PROXY``, ``NO_PROXY``) names for
    ``base_url``, as ``httpx.AsyncClient`` would honour it."""
    url = httpx.URL(base_url)
    proxies = urllib.request.getproxies()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(url.host):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"  # as httpx reads HTTPS_PROXY=host:port


class Pools:
    """Sends requests through the least busy of its pools and reads capped bodies.

    Every attempt runs in a cancel scope of its own: one bounds its total time
    (``attempt_limit``), and ``aclose`` cancels all of them, so closing the client ends the
    calls in flight and those still waiting for a connection, on every client that shares it.
    """

    def __init__(
        self,
        pools: list[httpx.AsyncBaseTransport],
        *,
        timeout: float | httpx.Timeout,
        client: httpx.AsyncClient | None = None,
        capacity: int = 0,
        traced: bool = False,
    ) -> None:
        self.pools = pools
        self.client = client
        self.closed = False
        self._busy = [0] * max(len(pools), 1)
        bounds = client.timeout if client is not None else httpx.Timeout(timeout)
        self._extensions = bounds.as_dict()
        self._traced = traced
        self._pool_wait = bounds.pool
        self._connect_timeout = bounds.connect
        limit = attempt_limit(bounds)
        if limit is not None and client is not None and bounds.pool is not None:
            limit += bounds.pool  # a caller's client waits for its pool inside the exchange
        self.limit = limit
        self._scopes: dict[anyio.CancelScope, Progress | None] = {}
        self._idle: anyio.Event | None = None  # set once the last cancelled call has left
        # Owned pools get one place per connection: requests beyond that wait
        # here, in O(1), instead of in httpcore's pool, whose bookkeeping grows with its queue
        # (a naive gather over thousands of calls would otherwise crawl).
        self._places = anyio.Semaphore(capacity) if capacity else None

    @classmethod
    def owned(cls, max_connections: int, timeout: float | httpx.Timeout, base_url: str) -> Pools:
        """Pools of our own, sharing one TLS context: each context loads the CA bundle
        again (about 35 ms apiece), and verification stays on."""
        tls = httpx.create_ssl_context()
        proxy = environment_proxy(base_url)
        pools: list[httpx.AsyncBaseTransport] = [
            httpx.AsyncHTTPTransport(
                verify=tls,
                proxy=proxy,
                limits=httpx.Limits(
                    max_connections=size,
                    max_keepalive_connections=size,
                    keepalive_expiry=KEEPALIVE_EXPIRY,
                ),
            )
            for size in pool_sizes(max_connections)
        ]
        return cls(pools, timeout=timeout, capacity=max_connections, traced=True)

    @property
    def busy(self) -> list[int]:
        """Requests in flight per pool."""
        return list(self._busy)

    def progress(self) -> Progress:
        return Progress(traced=self._traced, connect_timeout=self._connect_timeout)

    def url(self, text: str) -> Any:
        """``text`` parsed once into the URL type this backend sends to (the transport keeps
        one per endpoint)."""
        return httpx.URL(text)

    def build(self, url: Any, content: bytes, content_type: str, progress: Progress) -> Any:
        """One attempt's request, in the form ``send`` takes (here an ``httpx.Request``)."""
        if self.client is not None:
            return self.client.build_request(
                "POST",
                url,
                content=content,
                headers={"Content-Type": content_type},
                extensions={"trace": progress.trace},
            )
        headers = {**HEADERS, "Content-Type": content_type}
        extensions = {"timeout": self._extensions, "trace": progress.trace}
        return httpx.Request("POST", url, content=content, headers=headers, extensions=extensions)

    async def send(
        self, request: Any, progress: Progress, limit: float | None = None
    ) -> tuple[Reply, bytes | None]:
        """The response and its body; the body is None when it is over MAX_RESPONSE_BYTES.

        Raises ``httpx.PoolTimeout`` when no connection frees up within the pool timeout,
        ``DeadlineExceeded`` past the attempt's total limit and ``Closed`` once the client
        is closed. ``limit`` (seconds, ``math.inf`` for none) replaces the attempt's total
        limit and caps the pool wait: a per-call timeout or what is left of a call deadline.
        """
        own = progress.call_timeout  # with_options(timeout=...): its pool part too
        pool_wait = self._pool_wait if own is None else own.pool
        if limit is None:
            limit = self.limit
        elif pool_wait is None or pool_wait > limit:
            pool_wait = limit
        if self.closed:
            raise Closed("the client has been closed; open a new AsyncSunmiFace", sent=False)
        # One cancel scope per attempt (they cost several µs each): its deadline is first
        # the pool timeout, then the attempt's limit, and ``aclose`` cancels it.
        places = self._places
        acquired = waiting = False
        if places is not None:
            try:
                places.acquire_nowait()  # the common case: a place is free
                acquired = True
            except anyio.WouldBlock:
                waiting = True
        scope = anyio.CancelScope(deadline=self._deadline(pool_wait if waiting else limit))
        self._scopes[scope] = progress
        try:
            with scope:
                if waiting:
                    assert places is not None
                    await places.acquire()
                    acquired = True
                    scope.deadline = self._deadline(limit)
                    if progress.ends < scope.deadline:  # the wait used part of a deadline
                        scope.deadline = progress.ends
                        cap_phases(request, progress, progress.ends - anyio.current_time())
                progress.run_within(scope, limit)
                try:
                    return await self._exchange(request)
                except httpx.HTTPError as exc:
                    if isinstance(exc, Closed) or not self._closed_now():
                        raise
                    # The pools were closed under the call: report the closing, not its symptom.
                    raise Closed(
                        "the client was closed during the call", sent=progress.maybe_sent
                    ) from exc
        finally:
            if acquired:
                assert places is not None
                places.release()
            self._left(scope)
        # The scope was cancelled: by aclose, or by one of its two deadlines.
        if self._closed_now():
            raise Closed("the client was closed during the call", sent=progress.maybe_sent)
        if not progress.started:
            raise httpx.PoolTimeout(f"no connection was free within {pool_wait or 0:g} s")
        raise DeadlineExceeded(progress.overdue(), sent=progress.maybe_sent)

    @staticmethod
    def _deadline(seconds: float | None) -> float:
        return math.inf if seconds is None else anyio.current_time() + seconds

    def _closed_now(self) -> bool:
        return self.closed  # read afresh: aclose may have run while the call was waiting

    def guard(self) -> _Guard:
        """A cancel scope that ``aclose`` cancels (the transport wraps retry waits in one)."""
        return _Guard(self)

    def _left(self, scope: anyio.CancelScope) -> None:
        self._scopes.pop(scope, None)
        if not self._scopes and self._idle is not None:
            self._idle.set()

    async def _exchange(self, request: Any) -> tuple[Reply, bytes | None]:
        index = 0
        busy = self._busy
        if len(busy) > 1:
            index = busy.index(min(busy))
        busy[index] += 1
        try:
            response = await self._open(index, request)
            try:
                body = await _read_capped(response)
            finally:
                await response.aclose()
            return response, body
        finally:
            busy[index] -= 1

    async def _open(self, index: int, request: httpx.Request) -> httpx.Response:
        if self.client is not None:
            return await self.client.send(request, stream=True)
        return await self.pools[index].handle_async_request(request)

    async def aclose(self) -> None:
        """Stop every call (in flight, waiting for a connection or between retries) and
        close the pools this transport owns (a caller's client stays open)."""
        self.closed = True
        for scope, progress in list(self._scopes.items()):
            if progress is None:
                scope.cancel()
            else:
                progress.interrupt(scope)
        # Let the cancelled calls unwind (each closes its response) before the pools go.
        if self._scopes:
            self._idle = anyio.Event()
            with anyio.move_on_after(CLOSE_GRACE):
                await self._idle.wait()
        await self._close_pools()

    async def _close_pools(self) -> None:
        for pool in self.pools:
            await pool.aclose()

    def __repr__(self) -> str:
        kind: Any = "caller's client" if self.client is not None else f"{len(self.pools)} pools"
        return f"<Pools {kind}>"


class _Guard:
    """A cancel scope registered with its pools while it is entered."""

    __slots__ = ("_pools", "_scope")

    def __init__(self, pools: Pools) -> None:
        self._pools = pools
        self._scope = anyio.CancelScope()

    def __enter__(self) -> anyio.CancelScope:
        self._pools._scopes[self._scope] = None
        return self._scope.__enter__()

    def __exit__(self, *exc_info: Any) -> bool:
        self._pools._left(self._scope)
        return bool(self._scope.__exit__(*exc_info))


async def _read_capped(response: httpx.Response) -> bytes | None:
    """The response body, or None once it grows past the cap (the rest is never read)."""
    declared = response.headers.get("Content-Length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
        return None
    chunks = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
