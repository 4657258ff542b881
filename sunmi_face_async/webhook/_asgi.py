"""A plain ASGI receiver for SUNMI push callbacks (no web framework needed).

It reads the form body (bounded), verifies it, hands each distinct event to an async handler
once, and acknowledges duplicates with 200 so SUNMI's retries stop. An event counts as handled
only when the handler returns: if it raises, the receiver answers 500, remembers nothing, and
SUNMI's next retry is processed again. An event is claimed in the replay cache before its
handler runs, so an event that could not be remembered is never handled: when the cache is
full (or its file unusable) the receiver answers 503 with ``Retry-After`` and SUNMI retries.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Hashable, MutableMapping
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import anyio
import anyio.to_thread

from ._cache import Claim, ReplayCache, ReplayCacheError, ReplayCacheFullError, ReplayStore
from ._events import (
    DEFAULT_MAX_AGE,
    ExpiredCallbackError,
    InvalidSignatureError,
    MalformedCallbackError,
    PushEvent,
    verify_callback,
)

__all__ = ["callback_app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Handler = Callable[[PushEvent], Awaitable[None]]
T = TypeVar("T")

logger = logging.getLogger("sunmi_face_async.webhook")

_FORM_TYPE = "application/x-www-form-urlencoded"
_MAX_FIELDS = 64
#: How long a handled event is remembered after its timestamp window closes, in seconds.
#: It covers SUNMI's retry schedule (15 s, 30 s, 1 min, 2 min) even for re-signed retries.
DEFAULT_REMEMBER = 900.0
#: How long a claim on an event lasts while its handler runs, in seconds. Another worker that
#: shares the cache answers "retry later" for that event meanwhile; a claim left by a worker
#: that died runs out after this, before SUNMI's last retries.
DEFAULT_LEASE = 60.0
#: The ``Retry-After`` for an event another worker is handling, in seconds.
_IN_PROGRESS_RETRY_AFTER = 15.0


class _Busy(Exception):
    def __init__(self, reason: str, retry_after: float) -> None:
        self.reason = reason
        self.retry_after = retry_after


class _BadRequest(Exception):
    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason


def _fingerprint(event: PushEvent) -> Hashable:
    return event.fingerprint


def callback_app(
    handler: Handler,
    app_key: str,
    *,
    max_age: float = DEFAULT_MAX_AGE,
    max_body: int = 256 * 1024,
    remember: float = DEFAULT_REMEMBER,
    dedupe_key: Callable[[PushEvent], Hashable] = _fingerprint,
    cache: ReplayStore | None = None,
    lease: float = DEFAULT_LEASE,
    clock: Callable[[], float] = time.time,
) -> ASGIApp:
    """Build an ASGI app that receives SUNMI callbacks at any path.

    Answers 200 for a valid callback (after ``handler`` returned) and for a duplicate (without
    calling it again), 401 for a forged or expired one, 400 for a malformed one, 413 for a
    body over ``max_body`` bytes, 415 for another content type, 405 for another method, 500
    when the handler raised and 503 with ``Retry-After`` when the event cannot be taken now:
    the cache is full of unexpired entries (``replay_cache_full``; an unexpired entry is never
    forgotten, so room frees up only as entries expire), its file cannot be used
    (``replay_cache_unavailable``) or another worker sharing the cache is handling the same
    event (``in_progress``). The handler does not run in those cases.

    Duplicates are recognised by ``dedupe_key(event)`` (by default
    :attr:`PushEvent.fingerprint`, what the event says) and remembered in ``cache`` (a
    :class:`ReplayCache` of 100,000 entries by default, or a ``SqliteReplayCache`` to survive
    restarts and be shared by worker processes) for ``remember`` seconds or until the
    timestamp window closes, whichever is later. An event is claimed for ``lease`` seconds
    before its handler runs. A duplicate that arrives while the first delivery is still being
    handled in this app waits for it.
    """
    if not app_key:
        raise ValueError("app_key must not be empty")
    if not lease > 0:
        raise ValueError("lease must be positive")
    done: ReplayStore = cache if cache is not None else ReplayCache()
    in_flight: dict[Hashable, anyio.Event] = {}

    async def call(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one cache call: on the loop, or in a worker thread for a blocking store."""
        try:
            if done.blocking:
                return await anyio.to_thread.run_sync(functools.partial(function, *args, **kwargs))
            return function(*args, **kwargs)
        except ReplayCacheError as exc:
            reason = "replay_cache_full" if isinstance(exc, ReplayCacheFullError) else ""
            logger.warning("push refused for now, the replay cache cannot take it: %s", exc)
            raise _Busy(reason or "replay_cache_unavailable", exc.retry_after) from None

    async def process(event: PushEvent) -> tuple[int, str]:
        key = dedupe_key(event)
        while (running := in_flight.get(key)) is not None:
            await running.wait()
        finished = in_flight[key] = anyio.Event()
        try:
            return await claim_and_handle(event, key)
        finally:
            del in_flight[key]
            finished.set()

    async def claim_and_handle(event: PushEvent, key: Hashable) -> tuple[int, str]:
        now = clock()
        with anyio.CancelScope(shield=True):  # a claim made is always settled below
            claim: Claim = await call(done.claim, key, lease_until=now + lease, now=now)
        if claim == "done":
            return 200, "duplicate"
        if claim == "pending":
            raise _Busy("in_progress", _IN_PROGRESS_RETRY_AFTER)
        handled = False
        try:
            try:
                await handler(event)
                handled = True
            except Exception:
                logger.exception("push handler failed for event %d; answering 500", event.event)
                return 500, "handler_failed"
            now = clock()
            expires_at = max(event.timestamp.timestamp() + max_age, now + remember)
            with anyio.CancelScope(shield=True):
                await settle(done.confirm, key, expires_at=expires_at, now=now)
            return 200, "processed"
        finally:
            if not handled:  # failed or cancelled: the next delivery is handled again
                with anyio.CancelScope(shield=True):
                    await settle(done.discard, key)

    async def settle(function: Callable[..., None], *args: Any, **kwargs: Any) -> None:
        """Confirm or release a claim; if the cache fails, the claim runs out after its lease."""
        with contextlib.suppress(_Busy):
            await call(function, *args, **kwargs)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise RuntimeError(f"callback_app does not serve {scope['type']!r} connections")
        try:
            form = await _read_form(scope, receive, max_body)
            event = verify_callback(form, app_key, max_age=max_age, now=clock())
        except _BadRequest as exc:
            await _respond(send, exc.status, {"status": "rejected", "reason": exc.reason})
            return
        except MalformedCallbackError:
            await _respond(send, 400, {"status": "rejected", "reason": "malformed"})
            return
        except (InvalidSignatureError, ExpiredCallbackError) as exc:
            reason = "expired" if isinstance(exc, ExpiredCallbackError) else "bad_signature"
            await _respond(send, 401, {"status": "rejected", "reason": reason})
            return
        try:
            status, outcome = await process(event)
        except _Busy as exc:
            await _respond(
                send,
                503,
                {"status": "retry_later", "reason": exc.reason},
                retry_after=exc.retry_after,
            )
            return
        await _respond(send, status, {"status": outcome})

    return app


async def _read_form(scope: Scope, receive: Receive, max_body: int) -> dict[str, str]:
    if scope.get("method") != "POST":
        raise _BadRequest(405, "method_not_allowed")
    headers = {bytes(k).lower(): bytes(v) for k, v in scope.get("headers", [])}
    content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    if content_type != _FORM_TYPE.encode():
        raise _BadRequest(415, "unsupported_media_type")
    declared = headers.get(b"content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > max_body):
        raise _BadRequest(413, "too_large")
    body = bytearray()
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _BadRequest(400, "disconnected")
        body += message.get("body", b"")
        if len(body) > max_body:
            raise _BadRequest(413, "too_large")
        more = bool(message.get("more_body", False))
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(
            text, keep_blank_values=True, strict_parsing=True, max_num_fields=_MAX_FIELDS
        )
    except (UnicodeDecodeError, ValueError):
        raise _BadRequest(400, "malformed") from None
    form = dict(pairs)
    if len(form) != len(pairs):
        # A repeated field makes "what was signed" ambiguous: refuse it.
        raise _BadRequest(400, "malformed")
    return form


async def _respond(
    send: Send, status: int, body: dict[str, str], *, retry_after: float | None = None
) -> None:
    content = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
    ]
    if status == 405:
        headers.append((b"allow", b"POST"))
    if retry_after is not None:
        headers.append((b"retry-after", str(max(1, math.ceil(retry_after))).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
