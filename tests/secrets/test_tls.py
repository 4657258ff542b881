"""TLS verification stays on for the clients the library owns; only a caller's own
``http_client`` (or transport) can change that."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sunmi_face_async import AsyncSunmiFace, RetryPolicy, TransportError
from sunmi_face_async._pools import CONNECTIONS_PER_POOL

ENVELOPE = b'{"code": 0, "msg": "", "data": {"group_list": []}}'


async def _no_sleep(seconds: float) -> None:
    return None


def owned_ssl_contexts(client: AsyncSunmiFace) -> list[ssl.SSLContext]:
    contexts = []
    for pool in client._transport.connections.pools:
        contexts.append(pool._pool._ssl_context)  # type: ignore[attr-defined]
    return contexts


@pytest.mark.parametrize("max_connections", [1, 16, 64])
async def test_owned_clients_verify_certificates_and_host_names(max_connections: int) -> None:
    client = AsyncSunmiFace("APP01", "key", sunmi_shop_no="1", max_connections=max_connections)
    async with client:
        contexts = owned_ssl_contexts(client)
        assert len(contexts) == -(-max_connections // CONNECTIONS_PER_POOL)
        for context in contexts:
            assert context.verify_mode == ssl.CERT_REQUIRED
            assert context.check_hostname is True


async def test_from_env_client_verifies_too() -> None:
    env = {"SUNMI_APP_ID": "APP01", "SUNMI_APP_KEY": "key", "SUNMI_SHOP_NO": "1"}
    async with AsyncSunmiFace.from_env(env) as client:
        for context in owned_ssl_contexts(client):
            assert context.verify_mode == ssl.CERT_REQUIRED


async def test_callers_http_client_is_used_as_is_and_left_open() -> None:
    async with httpx.AsyncClient() as mine:
        client = AsyncSunmiFace("APP01", "key", sunmi_shop_no="1", http_client=mine)
        async with client:
            assert client._transport.connections.client is mine
        assert not mine.is_closed


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    assert openssl is not None, "these tests need the openssl command to make a certificate"
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
async def https_server(self_signed: tuple[Path, Path]) -> AsyncIterator[dict[str, Any]]:
    """A loopback HTTPS server with an untrusted certificate that answers one envelope."""
    cert, key = self_signed
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    state: dict[str, Any] = {"requests": 0}

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            state["requests"] += 1
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(ENVELOPE)}\r\nConnection: close\r\n\r\n".encode()
                + ENVELOPE
            )
            await writer.drain()
        except (ssl.SSLError, ConnectionError, asyncio.IncompleteReadError):
            pass  # the client refused our certificate
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    state["base_url"] = f"https://127.0.0.1:{port}/openapi"
    try:
        yield state
    finally:
        server.close()
        await server.wait_closed()


async def test_untrusted_certificate_is_refused_before_anything_is_sent(
    https_server: dict[str, Any],
) -> None:
    client = AsyncSunmiFace(
        "APP01",
        "key",
        sunmi_shop_no="1",
        base_url=https_server["base_url"],
        retry=RetryPolicy(sleep=_no_sleep),
    )
    async with client:
        with pytest.raises(TransportError) as caught:
            await client.groups.list()
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    assert caught.value.sent is False
    assert https_server["requests"] == 0


async def test_the_callers_own_client_decides_what_to_trust(
    https_server: dict[str, Any], self_signed: tuple[Path, Path]
) -> None:
    trusting = ssl.create_default_context(cafile=str(self_signed[0]))
    async with httpx.AsyncClient(verify=trusting) as mine:
        client = AsyncSunmiFace(
            "APP01", "key", sunmi_shop_no="1", base_url=https_server["base_url"], http_client=mine
        )
        async with client:
            assert await client.groups.list() == []
    assert https_server["requests"] == 1
