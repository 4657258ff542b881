"""The connections a transport sends through: one or several pools, least busy first.

One httpx connection pool does work proportional to its size on every request (it checks
each connection's socket), so a client that keeps dozens of requests in flight through one
pool spends its time on bookkeeping (DESIGN.md: 0.10 of the ideal rate at 64 connections).
Owned connections are therefore split into small pools of ``CONNECTIONS_PER_SHARD``.

Owned pools are ``httpx.AsyncHTTPTransport``s driven directly, without an ``AsyncClient`` on
top: the client's cookie jar, auth, redirect and header-merging layers cost about 40 µs per
request and do nothing for this API. A caller's own ``http_client`` is used as is, through its
public ``build_request``/``send``, so its timeouts, hooks and TLS settings apply.
"""

from __future__ import annotations

import urllib.request
from typing import Any

import anyio
import httpx

from ._version import __version__

__all__ = ["CONNECTIONS_PER_SHARD", "MAX_RESPONSE_BYTES", "Shards"]

#: The most connections one owned pool gets. Measured on 2 cores at 64 requests in flight,
#: pools of 4 cost about half the client CPU per request of pools of 16 under load.
CONNECTIONS_PER_SHARD = 4
#: A larger answer is refused while it streams in (no SUNMI answer comes near it).
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
#: Idle connections are dropped before common 5 s server keep-alive timeouts end, so a
#: request is not written into a socket the server is closing (an ambiguous failure).
KEEPALIVE_EXPIRY = 4.0
_HEADERS = {"User-Agent": f"sunmi-face-async/{__version__}", "Accept": "application/json"}


def shard_sizes(max_connections: int) -> list[int]:
    """Split ``max_connections`` into as few pools of at most CONNECTIONS_PER_SHARD as hold
    them, as even as possible, adding up exactly."""
    shards = -(-max_connections // CONNECTIONS_PER_SHARD)
    base, extra = divmod(max_connections, shards)
    return [base + 1 if index < extra else base for index in range(shards)]


def _environment_proxy(base_url: str) -> str | None:
    """The proxy the environment (``HTTPS_PROXY``, ``ALL_PROXY``, ``NO_PROXY``) names for
    ``base_url``, as ``httpx.AsyncClient`` would honour it."""
    url = httpx.URL(base_url)
    proxies = urllib.request.getproxies()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(url.host):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"  # as httpx reads HTTPS_PROXY=host:port


class Shards:
    """Sends requests through the least busy of its pools and reads capped bodies."""

    def __init__(
        self,
        pools: list[httpx.AsyncBaseTransport],
        *,
        timeout: float | httpx.Timeout,
        client: httpx.AsyncClient | None = None,
        capacity: int = 0,
    ) -> None:
        self.pools = pools
        self.client = client
        self.closed = False
        self._busy = [0] * max(len(pools), 1)
        self._extensions = {"timeout": httpx.Timeout(timeout).as_dict()}
        # Owned pools get a gate with one place per connection: requests beyond that wait
        # here, in O(1), instead of in httpcore's pool, whose bookkeeping grows with its queue
        # (a naive gather over thousands of calls would otherwise crawl).
        self._gate = anyio.Semaphore(capacity) if capacity else None

    @classmethod
    def owned(cls, max_connections: int, timeout: float | httpx.Timeout, base_url: str) -> Shards:
        """Pools of our own, sharing one TLS context: each context loads the CA bundle
        again (about 35 ms apiece), and verification stays on."""
        tls = httpx.create_ssl_context()
        proxy = _environment_proxy(base_url)
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
            for size in shard_sizes(max_connections)
        ]
        return cls(pools, timeout=timeout, capacity=max_connections)

    @property
    def busy(self) -> list[int]:
        """Requests in flight per pool."""
        return list(self._busy)

    def build(self, url: httpx.URL, content: bytes, content_type: str) -> httpx.Request:
        if self.client is not None:
            return self.client.build_request(
                "POST", url, content=content, headers={"Content-Type": content_type}
            )
        headers = {**_HEADERS, "Content-Type": content_type}
        return httpx.Request(
            "POST", url, content=content, headers=headers, extensions=self._extensions
        )

    async def send(self, request: httpx.Request) -> tuple[httpx.Response, bytes | None]:
        """The response and its body; the body is None when it is over MAX_RESPONSE_BYTES."""
        if self.closed:
            raise RuntimeError("the client has been closed; open a new AsyncSunmiFace")
        if self._gate is None:
            return await self._exchange(request)
        async with self._gate:
            return await self._exchange(request)

    async def _exchange(self, request: httpx.Request) -> tuple[httpx.Response, bytes | None]:
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
        """Close the pools this transport owns (a caller's client stays open)."""
        self.closed = True
        for pool in self.pools:
            await pool.aclose()

    def __repr__(self) -> str:
        kind: Any = "caller's client" if self.client is not None else f"{len(self.pools)} pools"
        return f"<Shards {kind}>"


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
