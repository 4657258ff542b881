"""``mock_sunmi()``: every ``AsyncSunmiFace`` built inside it talks to an in-process fake.

Like moto's ``mock_aws``, it intercepts clients however the code under test builds them
(the constructor, ``from_env()``, any ``base_url``, even a ``transport`` or ``http_client`` of
its own): nothing reaches the network. The mechanism is the client's public
:attr:`~sunmi_face_async.AsyncSunmiFace.transport_override` context variable, so it covers the
current thread, the tasks it starts and the worker threads that copy its context
(``asyncio.to_thread``, anyio's threads and portals, Starlette's ``TestClient``); a plain
``threading.Thread`` does not inherit it.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar, cast

import httpx

from .. import AsyncSunmiFace
from ._handlers import HANDLERS
from .fake import FakeSunmiCloud

__all__ = ["MockSunmi", "mock_sunmi", "mocked_cloud"]

F = TypeVar("F", bound=Callable[..., Any])
_Tokens = tuple[contextvars.Token[Any], contextvars.Token[Any]]

_API_PREFIX = "/openapi"
#: Longest first, so ``/face/group/getList`` is never read as a shorter path's suffix.
_ENDPOINTS = sorted(HANDLERS, key=len, reverse=True)
_active: contextvars.ContextVar[FakeSunmiCloud | None] = contextvars.ContextVar(
    "sunmi_face_async_mocked_cloud", default=None
)


class _FakeRoute(httpx.AsyncBaseTransport):
    """Sends a request for ``<any base_url>/<endpoint>`` to the fake's ``/openapi/<endpoint>``."""

    def __init__(self, cloud: FakeSunmiCloud) -> None:
        self._inner = cloud.transport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        endpoint = next((e for e in _ENDPOINTS if path.endswith(e)), None)
        if endpoint is not None and path != _API_PREFIX + endpoint:
            request.url = request.url.copy_with(path=_API_PREFIX + endpoint)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class MockSunmi:
    """The context manager and decorator :func:`mock_sunmi` returns.

    Each ``with`` (and each call of a decorated function) starts a fresh fake, built with the
    keywords given to :func:`mock_sunmi`; :attr:`cloud` is the last one started.
    """

    def __init__(self, settings: dict[str, Any]) -> None:
        FakeSunmiCloud(**settings)  # bad settings fail here, not at the first ``with``
        self._settings = settings
        # The undo tokens of each start, kept per context: a token can only be reset in the
        # context that set it, and tasks or threads sharing this object enter and leave it
        # in any order.
        self._entered: contextvars.ContextVar[tuple[_Tokens, ...]] = contextvars.ContextVar(
            "sunmi_face_async_mock_entered", default=()
        )
        self.cloud: FakeSunmiCloud | None = None

    def start(self) -> FakeSunmiCloud:
        """Begin intercepting (in this context) and return the fresh fake; :meth:`stop` ends it."""
        cloud = FakeSunmiCloud(**self._settings)
        cloud.gateway.any_credentials = True

        def transport() -> httpx.AsyncBaseTransport:
            return _FakeRoute(cloud)

        tokens = (AsyncSunmiFace.transport_override.set(transport), _active.set(cloud))
        self._entered.set((*self._entered.get(), tokens))
        self.cloud = cloud
        return cloud

    def stop(self) -> None:
        """Stop intercepting: clients built from now on use the network again.

        Undoes the last :meth:`start` made in this context (thread or task).
        """
        entered = self._entered.get()
        if not entered:
            raise RuntimeError("mock_sunmi() was not started in this context")
        override, active = entered[-1]
        _active.reset(active)
        AsyncSunmiFace.transport_override.reset(override)
        self._entered.set(entered[:-1])

    def __enter__(self) -> FakeSunmiCloud:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __call__(self, function: F) -> F:
        """Decorate a function: each call runs inside a fresh mock (:attr:`cloud` is its fake).

        Sync and async functions, and generators of either kind, whose whole body (every
        step, up to the end) runs inside: ``@pytest.fixture`` over ``@mock_sunmi()`` works on
        a ``yield`` fixture.
        """
        if inspect.isasyncgenfunction(function):

            @functools.wraps(function)
            async def run_async_steps(*args: Any, **kwargs: Any) -> Any:
                with self:
                    async for item in function(*args, **kwargs):
                        yield item

            return cast(F, run_async_steps)
        if inspect.isgeneratorfunction(function):

            @functools.wraps(function)
            def run_steps(*args: Any, **kwargs: Any) -> Any:
                with self:
                    return (yield from function(*args, **kwargs))

            return cast(F, run_steps)
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with self:
                    return await function(*args, **kwargs)

            return cast(F, run_async)

        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self:
                return function(*args, **kwargs)

        return cast(F, run)


def mock_sunmi(**settings: Any) -> MockSunmi:
    """Intercept every ``AsyncSunmiFace`` built inside: it talks to a fresh in-process fake.

    ``with mock_sunmi() as cloud:`` gives the :class:`FakeSunmiCloud` (its state, ``stats``
    and ``faults``); as a decorator (``@mock_sunmi()``, on sync or async functions and
    generators) the fake is :func:`mocked_cloud`. ``settings`` are ``FakeSunmiCloud``
    keywords (``seed``, ``faults``, ``max_faces`` ...). The fake takes any credentials and
    does not check the sign (the client's key never leaves it); timestamps, nonces and every
    API rule still apply. A client built inside keeps talking to the fake after the block
    ends; one built before it (at import time, say) is not intercepted.
    """
    return MockSunmi(dict(settings))


def mocked_cloud() -> FakeSunmiCloud:
    """The fake of the innermost active :func:`mock_sunmi`; LookupError outside one."""
    cloud = _active.get()
    if cloud is None:
        raise LookupError("no mock_sunmi() is active here")
    return cloud
