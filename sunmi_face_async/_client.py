"""``AsyncSunmiFace``: the entry point that ties credentials, a shop and the resources together."""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from types import TracebackType
from typing import Any, ClassVar, cast
from urllib.parse import urlsplit

import httpx

from ._backend import resolve_backend
from ._events import AttemptHook, signals_for
from ._logging import configure_from_env
from ._options import check_deadline, derive
from ._retry import RetryPolicy
from ._transport import Transport, _Secret, has_surrogate
from ._validate import text
from .errors import ValidationError
from .resources import Faces, Groups, Hooks

__all__ = ["PRODUCTION_URL", "UAT_URL", "AsyncSunmiFace"]

PRODUCTION_URL = "https://store.sunmi.com/openapi"
UAT_URL = "https://store.uat.sunmi.com/openapi"


def _shop_params(sunmi_shop_no: str | None, shop_id: str | None) -> dict[str, str]:
    """The parameters naming the shop every call addresses, checked."""
    shop: dict[str, str] = {}
    for field, value in (("sunmi_shop_no", sunmi_shop_no), ("shop_id", shop_id)):
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(field, "must be a non-empty string")
        shop[field] = text(field, value)
    if not shop:
        raise ValidationError("sunmi_shop_no", "give sunmi_shop_no (or the legacy shop_id)")
    return shop


def _take_key(app_key: object) -> _Secret:
    """The app_key, checked and wrapped. A bad key is refused without being shown, and no
    exception is raised from code that holds it (a lone surrogate is looked for, not met
    as an encoding error whose args would hold the key)."""
    try:
        if isinstance(app_key, _Secret):  # from_env hands the key over already wrapped
            return app_key
        if not isinstance(app_key, str) or not app_key:
            raise ValidationError("app_key", "must be a non-empty string")
        if has_surrogate(app_key):
            raise ValidationError("app_key", "is not valid Unicode text (lone surrogate)")
        return _Secret(app_key)
    finally:
        del app_key  # error trackers read a frame's locals after it has unwound


def _check_base_url(base_url: object) -> None:
    """Refuse a base URL that could never be connected to, now rather than at each call."""
    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
        raise ValidationError("base_url", "must be an http:// or https:// URL")
    text("base_url", base_url)
    if not base_url.isascii() or any(ch.isspace() or not ch.isprintable() for ch in base_url):
        raise ValidationError(
            "base_url", "must be an ASCII URL without spaces or control characters"
        )
    try:
        parts = urlsplit(base_url)
        port = parts.port
    except ValueError as exc:  # e.g. "Port out of range 0-65535"
        raise ValidationError("base_url", f"is not a valid URL ({exc})") from None
    if not parts.hostname:
        raise ValidationError("base_url", "names no host")
    if port == 0:
        raise ValidationError("base_url", "port 0 cannot be connected to")
    if parts.query or parts.fragment:
        raise ValidationError("base_url", "must not carry a query or fragment")


def _env_arguments(env: Mapping[str, str], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The constructor's keywords from the environment, overridden by ``kwargs``."""
    for name in ("SUNMI_APP_ID", "SUNMI_APP_KEY"):
        if not env.get(name) and name.lower()[6:] not in kwargs:
            raise ValidationError(name, "is not set in the environment")
    arguments = dict(kwargs)
    arguments.setdefault("sunmi_shop_no", env.get("SUNMI_SHOP_NO") or None)
    arguments.setdefault("shop_id", env.get("SUNMI_SHOP_ID") or None)
    if env.get("SUNMI_BASE_URL"):
        arguments.setdefault("base_url", env["SUNMI_BASE_URL"])
    arguments["app_id"] = arguments.get("app_id") or env["SUNMI_APP_ID"]
    arguments["app_key"] = arguments.get("app_key") or env["SUNMI_APP_KEY"]
    return arguments


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


class _Unset:
    """The default of an option that was not given (None means "none" for a deadline)."""

    def __repr__(self) -> str:
        return "<unset>"


_UNSET = _Unset()


class AsyncSunmiFace:
    """An async client for one shop of the SUNMI face API.

    Use it as an async context manager (or call ``aclose``). It owns its connections unless
    ``http_client`` is given; ``with_shop`` returns a client for another shop that shares
    them. ``transport`` plugs in any httpx transport, e.g. the fake cloud's or a MockTransport.
    ``backend`` picks the HTTP library of owned connections: ``"httpx"`` (default, or
    ``SUNMI_BACKEND``), ``"aiohttp"`` (the ``[aiohttp]`` extra, asyncio only) or ``"auto"``.
    ``with_options`` gives a view with its own timeout, retry policy or call deadline.
    ``on_attempt`` (a function or a list of them) is called with an ``AttemptRecord`` after
    every attempt, for metrics. Open one client per event loop (an application's lifespan):
    a call on another loop raises ``ClientLoopError``.
    """

    #: While it holds a function (``sunmi_face_async.testing.mock_sunmi()`` sets it), every
    #: client built in this context sends through the httpx transport that function returns,
    #: whatever ``base_url``, ``transport`` or ``http_client`` it was given. None: no change.
    transport_override: ClassVar[ContextVar[Callable[[], httpx.AsyncBaseTransport] | None]] = (
        ContextVar("sunmi_face_async_transport_override", default=None)
    )

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
        backend: str | None = None,
        on_attempt: AttemptHook | Sequence[AttemptHook] | None = None,
    ) -> None:
        try:
            key = _take_key(app_key)
        finally:
            del app_key  # only the wrapped key stays a local of this frame, even on error
        if not isinstance(app_id, str) or not app_id.strip():
            raise ValidationError("app_id", "must be a non-empty string")
        text("app_id", app_id)
        _check_base_url(base_url)
        if isinstance(max_connections, bool) or not isinstance(max_connections, int):
            raise ValidationError("max_connections", "must be an integer")
        if max_connections < 1:
            raise ValidationError("max_connections", "must be at least 1")
        _check_options(timeout, retry, http_client, transport)
        configure_from_env()  # SUNMI_LOG=debug|info
        signals = signals_for(on_attempt)
        chosen = resolve_backend(backend, own_connections=http_client is None and transport is None)
        override = AsyncSunmiFace.transport_override.get()
        if override is not None:  # inside testing.mock_sunmi(): this client talks to its fake
            # (the backend was checked as chosen; the fake's transport is an httpx one)
            transport, http_client, chosen = override(), None, "httpx"
        shop = _shop_params(sunmi_shop_no, shop_id)
        transport_ = Transport(
            app_id,
            key,
            base_url=base_url,
            timeout=timeout,
            retry=(retry or RetryPolicy()).switched(),
            max_connections=max_connections,
            http_client=http_client,
            transport=transport,
            backend=chosen,
        )
        transport_.signals = signals
        self._init(transport_, shop, owner=True)

    def _init(self, transport: Transport, shop: dict[str, str], *, owner: bool) -> None:
        self._transport = transport
        self._shop = shop
        self._owner = owner
        self.groups = Groups(transport, shop)
        self.faces = Faces(transport, shop)
        self.hooks = Hooks(transport, shop)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> AsyncSunmiFace:
        """Build a client from ``SUNMI_APP_ID``, ``SUNMI_APP_KEY``, ``SUNMI_SHOP_NO`` (or
        ``SUNMI_SHOP_ID``) and optionally ``SUNMI_BASE_URL``; keywords override them."""
        arguments = _env_arguments(os.environ if environ is None else environ, kwargs)
        del environ, kwargs  # the environment holds the key: keep it out of this frame
        # The key goes on wrapped, so no frame between here and the transport holds it.
        key = cast(str, _take_key(arguments.pop("app_key")))
        return cls(arguments.pop("app_id"), key, **arguments)

    def with_shop(
        self, *, sunmi_shop_no: str | None = None, shop_id: str | None = None
    ) -> AsyncSunmiFace:
        """A client for another shop over the same credentials and connections.

        Closing it does nothing; close the client it came from, which stops this one's calls
        too (they raise ``ClientClosedError``).
        """
        clone = object.__new__(type(self))
        clone._init(self._transport, _shop_params(sunmi_shop_no, shop_id), owner=False)
        return clone

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        deadline: float | _Unset | None = _UNSET,
    ) -> AsyncSunmiFace:
        """A client for the same shop and connections whose calls use these options.

        ``timeout`` replaces the per-attempt timeout, ``retry`` the retry policy (None keeps
        this client's). ``deadline`` (seconds) bounds each call with all its retries: an
        attempt in flight is cut off when it comes, no retry starts that could not end before
        it, and the call raises ``DeadlineExceededError`` (a ``RequestTimeout``). Each call
        gets the whole deadline; ``deadline=None`` removes one set before.

        Like ``with_shop``, it is cheap (no new connections) and closing it does nothing; the
        two chain in either order. Use one per request handler::

            api = client.with_shop(sunmi_shop_no=shop).with_options(deadline=2.0)
        """
        _check_options(
            self.timeout if timeout is None else timeout, retry, http_client=None, transport=None
        )
        clone = object.__new__(type(self))
        transport = derive(
            self._transport,
            timeout=timeout,
            retry=retry,
            deadline=None if isinstance(deadline, _Unset) else check_deadline(deadline),
            set_deadline=not isinstance(deadline, _Unset),
        )
        clone._init(transport, self._shop, owner=False)
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
    def deadline(self) -> float | None:
        """The seconds each call may take with its retries (``with_options``); None: none."""
        return self._transport.deadline

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy calls use (after ``SUNMI_RETRIES``)."""
        return self._transport.retry

    @property
    def shop(self) -> Mapping[str, str]:
        """The shop parameters sent with every call (``sunmi_shop_no`` and/or ``shop_id``)."""
        return dict(self._shop)

    @property
    def store(self) -> Mapping[str, str]:
        """Deprecated alias of :attr:`shop` (removed in the next release)."""
        warnings.warn(
            "AsyncSunmiFace.store is deprecated; use AsyncSunmiFace.shop",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.shop

    async def aclose(self) -> None:
        """Stop every call on these connections and close them (a no-op on a ``with_shop``
        child; a caller's ``http_client`` stays open for its owner, but its calls stop).

        Calls still waiting for a connection, or between retries, raise
        ``ClientClosedError`` with ``sent=False`` and are never sent; calls in flight are cut
        off (``sent=True``: their outcome is unknown), except one that is opening its
        connection, which ends as not sent once that is done (within its connect timeout).

        Called on another event loop than the one the connections were opened on, it only
        marks the client closed: those connections belong to that loop and cannot be closed
        from this one (see ``ClientLoopError``).
        """
        if not self._owner:
            return
        if self._transport.home.elsewhere():
            self._transport.connections.closed = True
            return
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
        if not hasattr(self, "_shop"):  # shown half-built by a traceback of __init__
            return "AsyncSunmiFace(<not initialised>)"
        shop = ", ".join(f"{k}={v!r}" for k, v in self._shop.items())
        return f"AsyncSunmiFace(app_id={self.app_id!r}, {shop}, base_url={self.base_url!r})"
