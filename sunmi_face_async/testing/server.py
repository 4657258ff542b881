"""``FakeCloudServer``: the fake cloud over real HTTP, in a uvicorn subprocess.

A separate process keeps the server's work off the caller's event loop (benchmarks measure
the client, not the fake) and exercises real sockets. The server is steered through the
unsigned ``/_fake/`` admin routes and stopped by pid: terminate, then kill after a timeout.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import httpx
from anyio.streams.text import TextReceiveStream

from ..models import Face, FaceGroup
from ._threaded import listen_socket
from .fake import DEFAULT_APP_ID, DEFAULT_APP_KEY, DEFAULT_SHOP_NO, FakeSunmiCloud
from .options import argv_for
from .push import PushRecord

if TYPE_CHECKING:
    from .. import AsyncSunmiFace

__all__ = ["FakeCloudServer", "serve"]


def serve(
    cloud: FakeSunmiCloud,
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    log_level: str = "warning",
    announce: Callable[[str], None] | None = None,
) -> None:
    """Bind, announce the connection details, and serve ``cloud`` with uvicorn until stopped."""
    import uvicorn

    from ._app import API_PREFIX, HideDroppedConnections

    sock = listen_socket(host, port)
    bound_port = sock.getsockname()[1]
    url_host = f"[{host}]" if ":" in host else host
    say = announce or (lambda line: print(line, flush=True))
    say(f"base_url=http://{url_host}:{bound_port}{API_PREFIX}")
    say(f"app_id={cloud.app_id}")
    say(f"app_key={cloud.app_key}")
    say(f"shop_no={cloud.shop_no}")
    say(f"pid={os.getpid()}")
    say("ready")
    logging.getLogger("uvicorn.error").addFilter(HideDroppedConnections())
    config = uvicorn.Config(
        cloud.app,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


class FakeCloudServer:
    """Runs ``python -m sunmi_face_async.testing`` and talks to it.

    Keywords are the fake's settings (``seed``, ``latency``, ``error_rates``,
    ``max_faces`` ...); use as ``async with FakeCloudServer(port=0) as server:`` or call
    :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        app_id: str = DEFAULT_APP_ID,
        app_key: str = DEFAULT_APP_KEY,
        shop_no: str = DEFAULT_SHOP_NO,
        error_rates: Mapping[int, float] | None = None,
        startup_timeout: float = 30.0,
        stop_timeout: float = 5.0,
        extra_args: Sequence[str] = (),
        **settings: Any,
    ) -> None:
        options = argv_for({**settings, "error_rate": error_rates or {}})
        self.host = host
        self.port = port
        self.app_id = app_id
        self.app_key = app_key
        self.shop_no = shop_no
        self.base_url = ""
        self.pid: int | None = None
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        args = ["--host", host, "--port", str(port), "--app-id", app_id, "--app-key", app_key]
        args += ["--shop-no", shop_no]
        self._args = [*args, *options, *extra_args]
        self._process: anyio.abc.Process | None = None
        self._admin: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        return f"<FakeCloudServer base_url={self.base_url!r} pid={self.pid}>"

    @property
    def admin_url(self) -> str:
        return self.base_url.rsplit("/openapi", 1)[0] + "/_fake"

    async def start(self) -> FakeCloudServer:
        """Start the subprocess and wait until it announces it is listening."""
        if self._process is not None:
            raise RuntimeError("the server is already running")
        command = [sys.executable, "-m", "sunmi_face_async.testing", *self._args]
        process = await anyio.open_process(command, stdin=subprocess.DEVNULL, stderr=None)
        self._process = process
        self.pid = process.pid
        try:
            with anyio.fail_after(self.startup_timeout):
                details = await self._read_announcement(process)
            self.base_url = details["base_url"]
            self._admin = httpx.AsyncClient(base_url=self.admin_url, timeout=10.0)
            response = await self._admin.get("/health")
            response.raise_for_status()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.stop()
            raise
        return self

    @staticmethod
    async def _read_announcement(process: anyio.abc.Process) -> dict[str, str]:
        assert process.stdout is not None
        details: dict[str, str] = {}
        buffer = ""
        async for text in TextReceiveStream(process.stdout):
            buffer += text
            while "\n" in buffer:
                line, buffer = buffer.split("\n", 1)
                if line.strip() == "ready":
                    return details
                key, _, value = line.partition("=")
                details[key.strip()] = value.strip()
        raise RuntimeError(f"the fake server exited early (status {await process.wait()})")

    async def stop(self) -> None:
        """Stop the subprocess: SIGTERM, then SIGKILL after ``stop_timeout`` seconds."""
        if self._admin is not None:
            await self._admin.aclose()
            self._admin = None
        process, self._process = self._process, None
        if process is None:
            return
        if process.returncode is None:
            process.terminate()
            with anyio.move_on_after(self.stop_timeout):
                await process.wait()
            if process.returncode is None:
                process.kill()
                await process.wait()
        await process.aclose()

    async def __aenter__(self) -> FakeCloudServer:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- the admin routes --------------------------------------------------------------------

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        if self._admin is None:
            raise RuntimeError("the server is not running")
        response = await self._admin.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"fake admin {path}: {response.text}")
        return response.json()

    async def set_faults(self, **changes: Any) -> dict[str, Any]:
        """Change fault settings (fields of ``Faults``); returns the settings now in force."""
        if "error_rates" in changes:
            changes["error_rates"] = {str(k): v for k, v in changes["error_rates"].items()}
        if changes.get("endpoints") is not None:
            changes["endpoints"] = sorted(changes["endpoints"])
        result: dict[str, Any] = await self._call("POST", "/faults", json=changes)
        return result

    async def stats(self, *, request_times: bool = True) -> dict[str, Any]:
        """The server's ``FakeStats`` as a dict (``request_times`` optional: it can be big)."""
        params = {} if request_times else {"request_times": "false"}
        result: dict[str, Any] = await self._call("GET", "/stats", params=params)
        return result

    async def reset_stats(self) -> None:
        await self._call("POST", "/stats/reset")

    async def groups_of(self, shop_no: str | None = None) -> list[FaceGroup]:
        """The server's truth: the store's groups, as the client's models."""
        params = {"shop_no": shop_no} if shop_no else {}
        wire = await self._call("GET", "/groups", params=params)
        return [FaceGroup.from_wire(group, "/_fake/groups") for group in wire]

    async def faces_in(self, group_id: str, shop_no: str | None = None) -> list[Face]:
        """The server's truth: every face of a group in page order, as the client's models."""
        params = {"group_id": group_id, **({"shop_no": shop_no} if shop_no else {})}
        wire = await self._call("GET", "/faces", params=params)
        return [Face.from_wire(face, "/_fake/faces") for face in wire]

    async def shop_settings(self, shop_no: str | None = None) -> dict[str, Any]:
        """The shop's move strategy (or None) and push hooks (URL -> event codes)."""
        params = {"shop_no": shop_no} if shop_no else {}
        result: dict[str, Any] = await self._call("GET", "/shop", params=params)
        return result

    async def store_settings(self, shop_no: str | None = None) -> dict[str, Any]:
        """Deprecated alias of :meth:`shop_settings` (removed in the next release)."""
        warnings.warn(
            "FakeCloudServer.store_settings() is deprecated; use FakeCloudServer.shop_settings()",
            DeprecationWarning,
            stacklevel=2,
        )
        return await self.shop_settings(shop_no)

    async def simulate_arrival(
        self, face_id: str, shop_no: str | None = None, at: int | None = None
    ) -> Face:
        """A camera sighting (see ``FakeSunmiCloud.simulate_arrival``); the face afterwards."""
        body = {"face_id": face_id, "shop_no": shop_no, "at": at}
        return Face.from_wire(await self._call("POST", "/arrival", json=body), "/_fake/arrival")

    async def deliver_pushes(self) -> list[PushRecord]:
        """Deliver every queued callback now; one record per callback."""
        records = await self._call("POST", "/pushes/deliver")
        return [PushRecord(**record) for record in records]

    def client(self, **kwargs: Any) -> AsyncSunmiFace:
        """An ``AsyncSunmiFace`` pointed at this server with its credentials."""
        from .. import AsyncSunmiFace

        options: dict[str, Any] = {"sunmi_shop_no": self.shop_no, "base_url": self.base_url}
        options.update(kwargs)
        return AsyncSunmiFace(self.app_id, self.app_key, **options)
