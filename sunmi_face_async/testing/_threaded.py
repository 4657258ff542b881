"""``ThreadedFakeServer``: the fake cloud over real HTTP, served by uvicorn in a thread.

The pytest fixture ``sunmi_server`` runs one for the session. Unlike ``FakeCloudServer``
(a subprocess steered through the admin routes), the fake lives in the test's own process, so
a test reads its state and changes its faults directly (``server.cloud``), while the code
under test reaches it over loopback sockets like the real cloud.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .fake import FakeSunmiCloud

if TYPE_CHECKING:
    import uvicorn

    from .. import AsyncSunmiFace

__all__ = ["ThreadedFakeServer", "listen_socket"]


def listen_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be IPPROTO_TCP: asyncio only sets TCP_NODELAY on such sockets, and without
    # it Nagle's algorithm adds ~40 ms to every answer.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except BaseException:
        sock.close()
        raise
    return sock


#: The name of every server thread: the log filter below knows the fake's records by it.
_THREAD_NAME = "sunmi-fake-server"


class _QuietFakeServer(logging.Filter):
    """Keeps quiet about the connections the fake drops on purpose and about its answers still
    waiting out their latency when it stops.

    ``uvicorn.error`` is one logger for every uvicorn server of the process, so only records
    emitted by a fake's own thread are touched: an app the test serves keeps all its messages.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.threadName != _THREAD_NAME:
            return True
        from ._app import ConnectionDropped  # starlette: loaded once a server runs

        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, (asyncio.CancelledError, ConnectionDropped)):
            return False
        return not record.getMessage().endswith("timeout graceful shutdown exceeded")


_QUIET = _QuietFakeServer()


class ThreadedFakeServer:
    """Serves ``cloud`` (default: a fresh :class:`FakeSunmiCloud`) on loopback from a thread.

    Use as ``with ThreadedFakeServer() as server:`` or call :meth:`start` and :meth:`stop`.
    ``base_url``, ``app_id``, ``app_key`` and ``shop_no`` say how to reach it; :meth:`env`
    gives them as the ``SUNMI_*`` variables ``AsyncSunmiFace.from_env()`` reads.
    """

    def __init__(
        self,
        cloud: FakeSunmiCloud | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 10.0,
        stop_timeout: float = 5.0,
    ) -> None:
        self.cloud = cloud if cloud is not None else FakeSunmiCloud()
        self.host = host
        self.port = port
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.base_url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"<ThreadedFakeServer base_url={self.base_url!r}>"

    @property
    def app_id(self) -> str:
        return self.cloud.app_id

    @property
    def app_key(self) -> str:
        """The fake's own test key (never a real one)."""
        return self.cloud.app_key

    @property
    def shop_no(self) -> str:
        return self.cloud.shop_no

    @property
    def admin_url(self) -> str:
        return self.base_url.rsplit("/openapi", 1)[0] + "/_fake"

    def start(self) -> ThreadedFakeServer:
        """Bind, start uvicorn in a daemon thread, and wait (bounded) until it serves."""
        import uvicorn

        from ._app import API_PREFIX

        if self._thread is not None:
            raise RuntimeError("the server is already running")
        sock = listen_socket(self.host, self.port)
        bound = sock.getsockname()[1]
        url_host = f"[{self.host}]" if ":" in self.host else self.host
        logging.getLogger("uvicorn.error").addFilter(_QUIET)  # one object: added once
        config = uvicorn.Config(
            self.cloud.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=self._run, args=(server, sock), name=_THREAD_NAME, daemon=True
        )
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the fake server did not start within {self.startup_timeout} s")
            time.sleep(0.01)
        self.base_url = f"http://{url_host}:{bound}{API_PREFIX}"
        return self

    @staticmethod
    def _run(server: uvicorn.Server, sock: socket.socket) -> None:
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()

    def stop(self) -> None:
        """Ask uvicorn to exit and join its thread (forced after ``stop_timeout`` seconds)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        self.base_url = ""  # env() and client() now say it is not running
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(self.stop_timeout)
        if thread.is_alive():
            server.force_exit = True
            thread.join(self.stop_timeout)

    def __enter__(self) -> ThreadedFakeServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def env(self, shop_no: str | None = None) -> dict[str, str]:
        """``SUNMI_APP_ID``, ``SUNMI_APP_KEY``, ``SUNMI_SHOP_NO`` and ``SUNMI_BASE_URL``."""
        if not self.base_url:
            raise RuntimeError("the server is not running")
        return {
            "SUNMI_APP_ID": self.app_id,
            "SUNMI_APP_KEY": self.app_key,
            "SUNMI_SHOP_NO": shop_no or self.shop_no,
            "SUNMI_BASE_URL": self.base_url,
        }

    def client(self, **kwargs: Any) -> AsyncSunmiFace:
        """An ``AsyncSunmiFace`` pointed at this server with its credentials."""
        from .. import AsyncSunmiFace

        if not self.base_url:
            raise RuntimeError("the server is not running")

        options: dict[str, Any] = {"sunmi_shop_no": self.shop_no, "base_url": self.base_url}
        options.update(kwargs)
        return AsyncSunmiFace(self.app_id, self.app_key, **options)
