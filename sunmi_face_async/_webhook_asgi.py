"""A plain ASGI receiver for SUNMI push callbacks (no web framework needed).

It reads the form body (bounded), verifies it, hands each distinct event to an async handler
once, and acknowledges duplicates with 200 so SUNMI's retries stop. An event counts as handled
only when the handler returns: if it raises, the receiver answers 500, remembers nothing, and
SUNMI's next retry is processed again.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Hashable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import anyio

from ._webhook_cache import ReplayCache
from ._webhook_events import (
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

logger = logging.getLogger("sunmi_face_async.webhook")

_FORM_TYPE = "application/x-www-form-urlencoded"
_MAX_FIELDS = 64
#: How long a handled event is remembered after its timestamp window closes, in seconds.
#: It covers SUNMI's retry schedule (15 s, 30 s, 1 min, 2 min) even for re-signed retries.
DEFAULT_REMEMBER = 900.0


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
    cache: ReplayCache | None = None,
    clock: Callable[[], float] = time.time,
) -> ASGIApp:
    """Build an ASGI app that receives SUNMI callbacks at any path.

    Answers 200 for a valid callback (after ``handler`` returned) and for a duplicate (without
    calling it again), 401 for a forged or expired one, 400 for a malformed one, 413 for a
    body over ``max_body`` bytes, 415 for another content type, 405 for another method and
    500 when the handler raised. Duplicates are recognised by ``dedupe_key(event)`` (by
    default :attr:`PushEvent.fingerprint`, what the event says) and remembered in ``cache``
    for ``remember`` seconds or until the timestamp window closes, whichever is later.
    A duplicate that arrives while the first delivery is still being handled waits for it.
    """
    if not app_key:
        raise ValueError("app_key must not be empty")
    done = cache if cache is not None else ReplayCache()
    in_flight: dict[Hashable, anyio.Event] = {}

    async def process(event: PushEvent) -> tuple[int, str]:
        key = dedupe_key(event)
        while True:
            now = clock()
            if done.contains(key, now=now):
                return 200, "duplicate"
            running = in_flight.get(key)
            if running is None:
                break
            await running.wait()
        finished = in_flight[key] = anyio.Event()
        try:
            await handler(event)
        except Exception:
            logger.exception("push handler failed for event %d; answering 500", event.event)
            return 500, "handler_failed"
        else:
            now = clock()
            expires_at = max(event.timestamp.timestamp() + max_age, now + remember)
            done.add(key, expires_at=expires_at, now=now)
            return 200, "processed"
        finally:
            del in_flight[key]
            finished.set()

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
        status, outcome = await process(event)
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


async def _respond(send: Send, status: int, body: dict[str, str]) -> None:
    content = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
    ]
    if status == 405:
        headers.append((b"allow", b"POST"))
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
