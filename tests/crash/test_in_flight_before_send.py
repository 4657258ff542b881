"""An upload is committed in flight in the journal before its request is written, claims
batched or not: a job SIGKILLed the moment its first request reaches a loopback server
leaves that item in flight (a resumed job then reconciles it, never sends it blindly)."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import anyio
import anyio.abc

from ._helpers import RUN_TIMEOUT, Worker, journal_rows, stop, write_manifest

_NAME = re.compile(rb'name="name"\r\n\r\n(person \d+)\r\n')


class _Silent:
    """A loopback HTTP server that reads requests and never answers them."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.arrived = anyio.Event()

    async def handle(self, stream: anyio.abc.SocketStream) -> None:
        seen = b""
        async with stream:
            while True:
                try:
                    seen += await stream.receive()
                except (anyio.EndOfStream, anyio.BrokenResourceError):
                    return
                found = _NAME.search(seen)
                if found is not None:
                    self.names.append(found.group(1).decode())
                    self.arrived.set()
                    seen = seen[found.end() :]


async def test_the_first_request_on_the_wire_is_in_flight_in_the_journal(tmp_path: Path) -> None:
    manifest, expected = write_manifest(tmp_path, 40)
    server = _Silent()
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)  # noqa: S610 (not Django)
    env = dict(os.environ)
    for name in ("SUNMI_SHOP_ID", "SUNMI_APP_KEY_FILE"):
        env.pop(name, None)
    env.update(
        SUNMI_APP_ID="APP",
        SUNMI_APP_KEY="key-never-logged",
        SUNMI_SHOP_NO="1",
        SUNMI_BASE_URL=f"http://127.0.0.1:{port}/openapi",
    )
    worker = Worker(tmp_path, manifest, "1", env, concurrency=1)
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, server.handle)
        process = await worker.start()
        try:
            with anyio.fail_after(RUN_TIMEOUT):
                await server.arrived.wait()
            os.kill(process.pid, signal.SIGKILL)
            await process.wait()
        finally:
            await stop(process)
            tg.cancel_scope.cancel()
    assert process.returncode == -signal.SIGKILL, worker.stderr.read_text()
    rows = journal_rows(worker.journal)
    by_name = {name: item for item, name in expected.items()}
    first = by_name[server.names[0]]
    assert rows[first] == ("in_flight", None)
    # Nothing the journal calls done or failed was sent without an answer.
    assert all(status == "in_flight" for status, _ in rows.values()), rows
