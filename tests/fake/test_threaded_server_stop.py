"""``ThreadedFakeServer.stop``: the thread ends, the port is closed, and the object no longer
says how to reach a server that is gone."""

from __future__ import annotations

import socket
import threading

import pytest

from sunmi_face_async.testing import ThreadedFakeServer


def _port(base_url: str) -> int:
    return int(base_url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])


def test_after_stop_the_port_is_closed_and_env_says_it_is_not_running() -> None:
    server = ThreadedFakeServer().start()
    port = _port(server.base_url)
    server.stop()
    assert [t.name for t in threading.enumerate() if t.name == "sunmi-fake-server"] == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    assert server.base_url == ""
    with pytest.raises(RuntimeError, match="not running"):
        server.env()
    with pytest.raises(RuntimeError, match="not running"):
        server.client()
    with server:  # it starts again, on a port of its own
        assert server.env()["SUNMI_BASE_URL"] == server.base_url != ""
