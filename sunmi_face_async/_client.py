"""``AsyncSunmiFace``: the entry point that ties credentials, a store and the resources together."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import httpx

from ._retry import RetryPolicy
from ._transport import Transport
from .errors import ValidationError
from .resources import Faces, Groups, Hooks

__all__ = ["PRODUCTION_URL", "UAT_URL", "AsyncSunmiFace"]

PRODUCTION_URL = "https://store.sunmi.com/openapi"
UAT_URL = "https://store.uat.sunmi.com/openapi"


def _store(sunmi_shop_no: str | None, shop_id: str | None) -> dict[str, str]:
    store: dict[str, str] = {}
    for field, value in (("sunmi_shop_no", sunmi_shop_no), ("shop_id", shop_id)):
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(field, "must be a non-empty string")
        store[field] = value
    if not store:
        raise ValidationError("sunmi_shop_no", "give sunmi_shop_no (or the legacy shop_id)")
    return store


def _check_options(timeout: object, retry: object, http_client: object, transport: object) -> None:
    """Refuse wrongly typed options now, not with an AttributeError at the first call."""
    if isinstance(timeout, bool) or not isinstance(timeout, int | float | httpx.Timeout):
        raise ValidationError("timeout", "must be a number of seconds or an httpx.Timeout")
    if isinstance(timeout, int | float) and not (0 < timeout < math.inf):
        raise ValidationError("timeout", f"must be a positive, finite number; got {timeout!r}")
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise ValidationError("retry", "must be a RetryPolicy")
    if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
        raise ValidationError("http_client", "must be an httpx.AsyncClient")
    if transport is not None and not isinstance(transport, httpx.AsyncBaseTransport):
        raise ValidationError("transport", "must be an httpx.AsyncBaseTransport")
    if http_client is not None and transport is not None:
        raise ValidationError("transport", "give either http_client or transport, not both")


class AsyncSunmiFace:
    """An async client for one store of the SUNMI face API.

    Use it as an async context manager (or call ``aclose``). It owns its connections unless
    ``http_client`` is given; ``with_shop`` returns a client for another store that shares
    them. ``transport`` plugs in any httpx transport, e.g. the fake cloud's or a MockTransport.
    """

    def __init__(
        self,
        app_id: str,
        app_key: str,
        *,
        sunmi_shop_no: str | None = None,
        shop_id: str | None = None,
        base_url: str = PRODUCTION_URL,
        timeout: float | httpx.Timeout = 30.0,
        retry: RetryPolicy | None = None,
        max_connections: int = 16,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not isinstance(app_id, str) or not app_id.strip():
            raise ValidationError("app_id", "must be a non-empty string")
        if not isinstance(app_key, str) or not app_key:
            raise ValidationError("app_key", "must be a non-empty string")
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ValidationError("base_url", "must be an http:// or https:// URL")
        if isinstance(max_connections, bool) or not isinstance(max_connections, int):
            raise ValidationError("max_connections", "must be an integer")
        if max_connections < 1:
            raise ValidationError("max_connections", "must be at least 1")
        _check_options(timeout, retry, http_client, transport)
        store = _store(sunmi_shop_no, shop_id)
        transport_ = Transport(
            app_id,
            app_key,
            base_url=base_url,
            timeout=timeout,
            retry=retry or RetryPolicy(),
            max_connections=max_connections,
            http_client=http_client,
            transport=transport,
        )
        self._init(transport_, store, owner=True)

    def _init(self, transport: Transport, store: dict[str, str], *, owner: bool) -> None:
        self._transport = transport
        self._store = store
        self._owner = owner
        self.groups = Groups(transport, store)
        self.faces = Faces(transport, store)
        self.hooks = Hooks(transport, store)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> AsyncSunmiFace:
        """Build a client from ``SUNMI_APP_ID``, ``SUNMI_APP_KEY``, ``SUNMI_SHOP_NO`` (or
        ``SUNMI_SHOP_ID``) and optionally ``SUNMI_BASE_URL``; keywords override them."""
        env = os.environ if environ is None else environ
        for name in ("SUNMI_APP_ID", "SUNMI_APP_KEY"):
            if not env.get(name) and name.lower()[6:] not in kwargs:
                raise ValidationError(name, "is not set in the environment")
        kwargs.setdefault("sunmi_shop_no", env.get("SUNMI_SHOP_NO") or None)
        kwargs.setdefault("shop_id", env.get("SUNMI_SHOP_ID") or None)
        if env.get("SUNMI_BASE_URL"):
            kwargs.setdefault("base_url", env["SUNMI_BASE_URL"])
        app_id = kwargs.pop("app_id", None) or env["SUNMI_APP_ID"]
        app_key = kwargs.pop("app_key", None) or env["SUNMI_APP_KEY"]
        return cls(app_id, app_key, **kwargs)

    def with_shop(
        self, *, sunmi_shop_no: str | None = None, shop_id: str | None = None
    ) -> AsyncSunmiFace:
        """A client for another store over the same credentials and connections.

        Closing it does nothing; close the client it came from.
        """
        clone = object.__new__(type(self))
        clone._init(self._transport, _store(sunmi_shop_no, shop_id), owner=False)
        return clone

    @property
    def app_id(self) -> str:
        return self._transport.app_id

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    @property
    def timeout(self) -> float | httpx.Timeout:
        """The request timeout the owned clients use (the bulk layer sizes waits by it)."""
        return self._transport.timeout

    @property
    def store(self) -> Mapping[str, str]:
        """The store parameters sent with every call (``sunmi_shop_no`` and/or ``shop_id``)."""
        return dict(self._store)

    async def aclose(self) -> None:
        if self._owner:
            await self._transport.aclose()

    async def __aenter__(self) -> AsyncSunmiFace:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        store = ", ".join(f"{k}={v!r}" for k, v in self._store.items())
        return f"AsyncSunmiFace(app_id={self.app_id!r}, {store}, base_url={self.base_url!r})"
