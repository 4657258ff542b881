"""Which HTTP library sends a client's requests: ``"httpx"`` (the default), ``"aiohttp"``
(the ``[aiohttp]`` extra, asyncio only) or ``"auto"`` (aiohttp when it can run, else httpx)."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping

import sniffio

from .errors import ValidationError

__all__ = ["BACKENDS", "resolve_backend"]

BACKENDS = ("httpx", "aiohttp", "auto")
_INSTALL = "pip install 'sunmi-face-async[aiohttp]'"


def _running_library() -> str | None:
    try:
        return sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        return None  # built outside any event loop (e.g. at import time of an app)


def aiohttp_installed() -> bool:
    return importlib.util.find_spec("aiohttp") is not None


def resolve_backend(
    backend: object, *, own_connections: bool, environ: Mapping[str, str] | None = None
) -> str:
    """The backend a client uses: ``backend``, else ``SUNMI_BACKEND``, else ``"httpx"``.

    ``"auto"`` takes aiohttp when it is installed and the client is not being built under
    trio (trio always runs on httpx). A client given ``http_client`` or ``transport`` sends
    through it, so only ``"auto"`` or ``"httpx"`` fit it. Each wrong choice is one
    ``ValidationError`` naming ``backend``. ``SUNMI_BACKEND`` is a default, not an order:
    ``SUNMI_BACKEND=aiohttp`` leaves a client with its own ``http_client``/``transport``, or
    one built under trio, on httpx (only a missing aiohttp is an error).
    """
    source = "backend"
    if backend is None:
        env = os.environ if environ is None else environ
        backend = env.get("SUNMI_BACKEND") or "httpx"
        source = "SUNMI_BACKEND"
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ValidationError(source, f"must be one of 'httpx', 'aiohttp', 'auto'; got {backend!r}")
    running = _running_library()
    if source == "SUNMI_BACKEND" and backend == "aiohttp":
        if not aiohttp_installed():
            raise ValidationError(source, f"names 'aiohttp', which is not installed; {_INSTALL}")
        backend = "auto"
    if backend == "auto":
        usable = own_connections and running in (None, "asyncio") and aiohttp_installed()
        return "aiohttp" if usable else "httpx"
    if backend == "aiohttp":
        if not own_connections:
            raise ValidationError(
                source,
                "'aiohttp' sends through its own connections; it cannot use "
                "http_client or transport (they are httpx's)",
            )
        if running is not None and running != "asyncio":
            raise ValidationError(
                source, f"'aiohttp' runs on asyncio only; under {running} use backend='httpx'"
            )
        if not aiohttp_installed():
            raise ValidationError(source, f"'aiohttp' is not installed; {_INSTALL}")
    return backend
