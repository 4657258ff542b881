"""Raw HTTP/1.1 servers on 127.0.0.1 that misbehave on purpose, written with anyio so the
same server runs under asyncio and trio.

Each server reads whole requests itself and counts what it sees: connections accepted and
still open, and the moment each request arrived, so a test can tell from the server's side
what the client sent and which sockets it left open.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
import anyio.abc

Stream = anyio.abc.SocketStream
Behaviour = Callable[["Loopback", Stream, bytes], Awaitable[bool]]

_GONE = (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError)


async def read_request(stream: Stream) -> bytes | None:
    """One whole request (head and body), or None when the client closed the connection."""
    buffer = b""
    try:
        while b"\r\n\r\n" not in buffer:
            buffer += await stream.receive(65536)
        head, _, body = buffer.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            body += await stream.receive(65536)
    except _GONE:
        return None
    return head + b"\r\n\r\n" + body


def envelope(request: bytes) -> bytes:
    """A successful SUNMI answer fitting the request's endpoint, as a whole HTTP response."""
    path = request.split(b" ", 2)[1]
    data: object = {"face_id": "578968751459"} if path.endswith(b"/face/add") else {}
    if path.endswith(b"/face/group/getList"):
        data = {"group_list": []}
    body = json.dumps({"code": 0, "msg": "", "data": data}).encode()
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class Loopback:
    """A server whose ``behaviour`` answers each request; True keeps the connection."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.accepted = 0
        self.open = 0
        self.arrivals: list[float] = []  # time.monotonic() of each request read
        self.port = 0

    @property
    def requests(self) -> int:
        return len(self.arrivals)

    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/openapi"

    async def _serve(self, stream: Stream) -> None:
        self.accepted += 1
        self.open += 1
        try:
            async with stream:
                while True:
                    request = await read_request(stream)
                    if request is None:
                        return
                    self.arrivals.append(time.monotonic())
                    if not await self.behaviour(self, stream, request):
                        return
        except _GONE:
            return
        finally:
            self.open -= 1

    async def wait_closed(self, limit: float) -> None:
        """Until the client has closed every connection, or ``limit`` seconds went by."""
        with anyio.move_on_after(limit):
            while self.open:
                await anyio.sleep(0.02)


@asynccontextmanager
async def serving(behaviour: Behaviour) -> AsyncIterator[Loopback]:
    """Run a Loopback server for the block; every connection handler is cancelled after."""
    server = Loopback(behaviour)
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    server.port = listener.extra(anyio.abc.SocketAttribute.local_port)  # noqa: S610
    async with listener, anyio.create_task_group() as group:
        group.start_soon(listener.serve, server._serve)
        try:
            yield server
        finally:
            group.cancel_scope.cancel()


async def _client_left(stream: Stream, seconds: float) -> bool:
    """Wait ``seconds`` while watching the socket; True if the client closed it meanwhile."""
    with anyio.move_on_after(seconds):
        try:
            await stream.receive(1)
        except _GONE:
            return True
    return False


async def trickle(server: Loopback, stream: Stream, request: bytes) -> bool:
    """Answer one byte a second: no single read ever waits long, the answer never ends."""
    answer = envelope(request)
    for index in range(len(answer)):
        await stream.send(answer[index : index + 1])
        if await _client_left(stream, 1.0):
            return False
    return False


async def endless_chunks(server: Loopback, stream: Stream, request: bytes) -> bool:
    """Headers at once, then a small chunk every 0.3 s for ever."""
    await stream.send(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    while True:
        await stream.send(b"1\r\n \r\n")
        if await _client_left(stream, 0.3):
            return False


async def silent(server: Loopback, stream: Stream, request: bytes) -> bool:
    """Take the request and never answer (until the client goes away)."""
    await _client_left(stream, 3600)
    return False


def slow_ok(seconds: float) -> Behaviour:
    """Answer each request correctly after ``seconds``, keeping the connection alive."""

    async def behaviour(server: Loopback, stream: Stream, request: bytes) -> bool:
        if await _client_left(stream, seconds):
            return False
        await stream.send(envelope(request))
        return True

    return behaviour


async def server_error(server: Loopback, stream: Stream, request: bytes) -> bool:
    """An HTTP 500 at once (a read is retried after it), keeping the connection alive."""
    body = b'{"code": 5000, "msg": "busy", "data": null}'
    head = f"HTTP/1.1 500 Internal Server Error\r\nContent-Length: {len(body)}\r\n\r\n"
    await stream.send(head.encode() + body)
    return True
