"""A loopback SUNMI look-alike that is cheap enough never to be the bottleneck.

A raw ``asyncio.Protocol`` HTTP/1.1 keep-alive server, run in its own process (pinned to its
own core when the machine has two or more). It reads whole ``Content-Length`` bodies (forms and
multipart uploads up to 1 MB), checks no signature and answers the face endpoints with valid
envelopes after a configurable delay, scheduled with ``loop.call_later`` so that waiting costs
no thread. It counts requests in flight, so the harness can see the concurrency a client
really reached.

Control endpoints (GET, answered at once, never counted or delayed):
``/_stats`` (``?reset=1`` zeroes the counters after reading them) and
``/_config?delay=S&group_size=N``.

Run: ``python -m benchmarks.server [--port 0] [--delay S] [--group-size N] [--cpu K]``; the
first line printed is ``port=N``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["BenchServer", "main"]

ROOT = os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))
)  # the benchmarks package's parent
MAX_BODY = 1024 * 1024 + 64 * 1024  # the 1 MB gateway limit plus multipart framing
_KEEP_BODY = 64 * 1024  # form bodies are parsed; large (multipart) bodies are only counted
_FACE_ADD = "/openapi/face/add"
_FACE_LIST = "/openapi/face/group/getFaceList"
_GROUP_INFO = "/openapi/face/group/getInfo"
_FACE_INFO = "/openapi/face/getInfo"
_GROUP_LIST = "/openapi/face/group/getList"


class _State:
    """Server-wide settings and counters, shared by all connections."""

    def __init__(self, delay: float, group_size: int) -> None:
        self.delay = delay
        self.group_size = group_size
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests = 0
        self.bytes_in = 0
        self.connections = 0
        self.max_connections = 0
        self.face_counter = 0
        self.accepted = 0
        self.started = time.monotonic()

    def stats(self) -> dict[str, Any]:
        return {
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "requests": self.requests,
            "bytes_in": self.bytes_in,
            "connections": self.connections,
            "max_connections": self.max_connections,
            "delay": self.delay,
            "group_size": self.group_size,
            "cpu": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "cpu_s": time.process_time(),
            "clock_s": time.monotonic(),
            "accepted": self.accepted,
        }

    def reset(self) -> None:
        self.max_in_flight = self.in_flight
        self.max_connections = self.connections
        self.requests = 0
        self.bytes_in = 0


def _envelope(data: object) -> bytes:
    return json.dumps({"code": 0, "msg": "succeed", "data": data}, separators=(",", ":")).encode()


_GROUP = {
    "group_id": "1",
    "group_name": "bench",
    "type": 5,
    "count": 0,
    "capacity": 30000,
    "last_modified_time": 1700000000,
    "description": "benchmark group",
    "customer_key1": "level",
}
_GROUP_BODY = _envelope(_GROUP)
_GROUP_LIST_BODY = _envelope({"group_list": [_GROUP]})
_EMPTY_BODY = _envelope({})


def _face(index: int, group_id: str) -> dict[str, Any]:
    return {
        "face_id": str(100_000_000 + index),
        "group_id": group_id,
        "group_name": "bench",
        "name": f"face {index}",
        "gender": index % 3,
        "age_range": index % 8 + 1,
        "arrival_count": index % 17,
        "create_time": 1700000000 + index,
        "last_arrival_time": 0,
        "customer_key1": f"ext-{index}",
    }


def _face_page(state: _State, form: dict[str, str]) -> bytes:
    group_id = form.get("group_id", "1")
    page_num = max(1, int(form.get("page_num", "1") or 1))
    page_size = max(1, int(form.get("page_size", "10") or 10))
    start = (page_num - 1) * page_size
    stop = min(state.group_size, start + page_size)
    faces = [_face(i, group_id) for i in range(start, stop)]
    return _envelope({"face_list": faces, "total_num": state.group_size})


class _Connection(asyncio.Protocol):
    """One keep-alive connection: read a request, answer it after the delay, repeat."""

    def __init__(self, state: _State, loop: asyncio.AbstractEventLoop) -> None:
        self.state = state
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.head: tuple[str, str, int] | None = None  # method, target, content length
        self.body = bytearray()
        self.body_left = 0
        self.pending: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.state.connections += 1
        self.state.accepted += 1
        self.state.max_connections = max(self.state.max_connections, self.state.connections)

    def connection_lost(self, exc: Exception | None) -> None:
        self.state.connections -= 1
        if self.pending is not None:
            self.pending.cancel()
            self.pending = None
            self.state.in_flight -= 1
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.state.bytes_in += len(data)
        view = memoryview(data)
        while view:
            if self.head is None:
                self.buffer += view
                view = memoryview(b"")
                end = self.buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(self.buffer) > 16384:
                        self._fail(b"431 Request Header Fields Too Large")
                    return
                head = bytes(self.buffer[:end])
                rest = bytes(self.buffer[end + 4 :])
                self.buffer.clear()
                if not self._parse_head(head):
                    return
                view = memoryview(rest)
            take = min(self.body_left, len(view))
            assert self.head is not None
            if take and self.head[2] <= _KEEP_BODY:
                self.body += view[:take]
            self.body_left -= take
            view = view[take:]
            if self.body_left == 0:
                self._dispatch()
                if view:
                    # Pipelining is not needed by any client here; refuse it plainly.
                    self._fail(b"400 Bad Request")
                    return

    def _parse_head(self, head: bytes) -> bool:
        lines = head.split(b"\r\n")
        try:
            method, target, _ = lines[0].decode("latin-1").split(" ", 2)
        except ValueError:
            self._fail(b"400 Bad Request")
            return False
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            lowered = name.strip().lower()
            if lowered == b"content-length":
                length = int(value.strip())
            elif lowered == b"transfer-encoding":
                self._fail(b"411 Length Required")
                return False
        if length > MAX_BODY:
            self._fail(b"413 Content Too Large")
            return False
        self.head = (method, target, length)
        self.body_left = length
        self.body.clear()
        return True

    def _dispatch(self) -> None:
        assert self.head is not None
        method, target, _ = self.head
        self.head = None
        url = urlsplit(target)
        if method == "GET":
            self._write(self._control(url.path, parse_qs(url.query)))
            return
        self.state.requests += 1
        self.state.in_flight += 1
        self.state.max_in_flight = max(self.state.max_in_flight, self.state.in_flight)
        body = self._answer(url.path)
        if self.state.delay > 0:
            self.pending = self.loop.call_later(self.state.delay, self._finish, body)
        else:
            self._finish(body)

    def _answer(self, path: str) -> bytes:
        if path == _FACE_ADD:
            self.state.face_counter += 1
            return _envelope({"face_id": str(500_000_000 + self.state.face_counter)})
        if path == _FACE_LIST:
            form = {k: v[0] for k, v in parse_qs(self.body.decode("utf-8", "replace")).items()}
            return _face_page(self.state, form)
        if path == _GROUP_INFO:
            return _GROUP_BODY
        if path == _GROUP_LIST:
            return _GROUP_LIST_BODY
        if path == _FACE_INFO:
            return _envelope(_face(1, "1"))
        return _EMPTY_BODY

    def _finish(self, body: bytes) -> None:
        self.pending = None
        self.state.in_flight -= 1
        self._write(body)

    def _control(self, path: str, query: dict[str, list[str]]) -> bytes:
        if path == "/_config":
            if "delay" in query:
                self.state.delay = float(query["delay"][0])
            if "group_size" in query:
                self.state.group_size = int(query["group_size"][0])
            return json.dumps(self.state.stats()).encode()
        if path == "/_stats":
            stats = json.dumps(self.state.stats()).encode()
            if query.get("reset") == ["1"]:
                self.state.reset()
            return stats
        return _EMPTY_BODY

    def _write(self, body: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )

    def _fail(self, status: bytes) -> None:
        if self.transport is not None:
            self.transport.write(
                b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            self.transport.close()


async def _serve(port: int, state: _State) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _Connection(state, loop), "127.0.0.1", port, backlog=1024, reuse_address=True
    )
    sockets = server.sockets
    print(f"port={sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--group-size", type=int, default=100_000)
    parser.add_argument("--cpu", type=int, default=None, help="pin to this core")
    args = parser.parse_args(argv)
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port, _State(args.delay, args.group_size)))


def split_cores() -> tuple[int | None, set[int] | None]:
    """(server core, client cores): the last core for the server, the rest for the client."""
    if not hasattr(os, "sched_getaffinity"):
        return None, None
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return None, None
    return cores[-1], set(cores[:-1])


class BenchServer:
    """Start the server in a child process; stop it (by its pid) on exit.

    ``pin=True`` puts the server on the last core and this process on the others.
    """

    def __init__(self, *, delay: float = 0.0, group_size: int = 100_000, pin: bool = True):
        self.delay = delay
        self.group_size = group_size
        self.pin = pin
        self.port = 0
        self.process: subprocess.Popen[str] | None = None
        self.server_core: int | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/openapi"

    def __enter__(self) -> BenchServer:
        command = [sys.executable, "-m", "benchmarks.server", "--delay", str(self.delay)]
        command += ["--group-size", str(self.group_size)]
        if self.pin:
            server_core, client_cores = split_cores()
            if server_core is not None and client_cores:
                command += ["--cpu", str(server_core)]
                os.sched_setaffinity(0, client_cores)
                self.server_core = server_core
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.startswith("port="):
            self.__exit__(None, None, None)
            raise RuntimeError(f"benchmark server did not start: {line!r}")
        self.port = int(line.removeprefix("port="))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.process = None

    def _get(self, path: str) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as reply:
            result: dict[str, Any] = json.loads(reply.read())
            return result

    def configure(self, *, delay: float | None = None, group_size: int | None = None) -> None:
        """Change the delay and/or the virtual group's size for the next requests."""
        query = []
        if delay is not None:
            query.append(f"delay={delay!r}")
        if group_size is not None:
            query.append(f"group_size={group_size}")
        self._get("/_config?" + "&".join(query))

    def stats(self, *, reset: bool = False) -> dict[str, Any]:
        """The counters (requests, max in flight, ...); ``reset`` zeroes them after reading."""
        return self._get("/_stats?reset=1" if reset else "/_stats")


if __name__ == "__main__":
    main()
