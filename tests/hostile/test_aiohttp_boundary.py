"""Where "not sent" ends and "outcome unknown" begins, on both backends, with real loopback
servers: one that closes after reading the whole request (aiohttp reports it as a
``ServerDisconnectedError``, a ``ClientConnectionError`` like a refused connection; it must
never read as "not sent", or an upload would be sent twice), one that refuses connections,
and one whose answer is over the response cap."""

from __future__ import annotations

import socket
from typing import Any

import anyio
import pytest

from sunmi_face_async import AsyncSunmiFace, RetryPolicy, TransportError
from sunmi_face_async.errors import ProtocolError
from tests._backends import BACKENDS

from ._loopback import Loopback, Stream, envelope, serving

KEY = "boundary-test-key-0123456789"
JPEG = b"\xff\xd8\xff\xe0" + bytes(4000)


def _client(base_url: str, backend: str, **options: Any) -> AsyncSunmiFace:
    options.setdefault("timeout", 5.0)
    return AsyncSunmiFace(
        "BOUNDARYAPP", KEY, sunmi_shop_no="1", base_url=base_url, backend=backend, **options
    )


async def _close_after_reading(server: Loopback, stream: Stream, request: bytes) -> bool:
    return False  # the whole request was read (the server counted it): close, answer nothing


async def _close_after_first(server: Loopback, stream: Stream, request: bytes) -> bool:
    """The first request is read and dropped unanswered; later ones are answered."""
    if server.requests == 1:
        return False
    await stream.send(envelope(request))
    return True


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_server_closing_after_reading_the_upload_leaves_its_outcome_unknown(
    backend: str,
) -> None:
    async def main() -> tuple[TransportError, int]:
        async with serving(_close_after_reading) as server:
            async with _client(server.base_url(), backend) as api:
                with pytest.raises(TransportError) as caught:
                    await api.faces.add("1", pic=JPEG, name="Mike")
            return caught.value, server.requests

    error, requests = anyio.run(main)
    assert requests == 1  # an upload whose reply was lost is never sent again
    assert error.sent is True
    assert error.outcome_unknown is True
    assert "the outcome is unknown" in str(error)
    assert str(error).startswith("/face/add: RemoteProtocolError: ")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_read_whose_reply_was_lost_is_retried_once_and_succeeds(backend: str) -> None:
    async def main() -> tuple[object, int]:
        async with serving(_close_after_first) as server:
            policy = RetryPolicy(sleep=_no_sleep)
            async with _client(server.base_url(), backend, retry=policy) as api:
                groups = await api.groups.list()
            return groups, server.requests

    groups, requests = anyio.run(main)
    assert groups == []
    assert requests == 2


async def _no_sleep(seconds: float) -> None:
    return None


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again when the block ends: refused


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_refused_connection_is_not_sent(backend: str) -> None:
    async def main() -> TransportError:
        url = f"http://127.0.0.1:{_closed_port()}/openapi"
        policy = RetryPolicy(max_attempts=2, sleep=_no_sleep)
        async with _client(url, backend, retry=policy) as api:
            with pytest.raises(TransportError) as caught:
                await api.faces.add("1", pic=JPEG, name="Mike")
        return caught.value

    error = anyio.run(main)
    assert error.sent is False
    assert error.outcome_unknown is False
    assert str(error).startswith("/face/add: ConnectError: ")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("declared", [True, False], ids=["declared", "chunked"])
def test_an_answer_over_the_cap_is_refused_while_it_streams(
    backend: str, declared: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sunmi_face_async import _pools

    cap = 64 * 1024
    monkeypatch.setattr(_pools, "MAX_RESPONSE_BYTES", cap)
    if backend == "aiohttp":
        from sunmi_face_async import _aiohttp

        monkeypatch.setattr(_aiohttp, "MAX_RESPONSE_BYTES", cap)
    sent: list[int] = []

    async def huge(server: Loopback, stream: Stream, request: bytes) -> bool:
        # Declared: refused from its Content-Length. Chunked: refused once the count passes it.
        length = f"Content-Length: {4 * cap}" if declared else "Transfer-Encoding: chunked"
        await stream.send(f"HTTP/1.1 200 OK\r\n{length}\r\n\r\n".encode())
        chunk = b" " * 8192
        framed = b"%x\r\n%s\r\n" % (len(chunk), chunk) if not declared else chunk
        try:
            for _ in range(4 * cap // len(chunk)):
                await stream.send(framed)
                sent.append(len(chunk))
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            pass
        return False

    async def main() -> ProtocolError:
        async with serving(huge) as server, _client(server.base_url(), backend) as api:
            with pytest.raises(ProtocolError) as caught:
                await api.groups.list()
            return caught.value

    error = anyio.run(main)
    assert "the response body is larger than" in str(error)
    assert error.http_status == 200
