"""What the two web-app examples share: SUNMI errors as HTTP answers, and the push receiver.

``error_response`` is the whole mapping, in the order it is decided:

- a write (any method but GET/HEAD/OPTIONS) whose outcome is unknown: 502, and the body says
  the change may have been applied (check before sending it again);
- throttled (``ThrottledError``, or a deadline that stopped the retry of one): 429 with
  ``Retry-After``;
- the route's deadline ran out (``DeadlineExceededError``): 504;
- ``NotFoundError``: 404; ``ValidationError``: 422 naming the field; SUNMI refusing a value
  (``ParameterError``, 5020/5022/5023): 422 with its code; ``ConflictError``: 409;
- any other ``TransportError`` (SUNMI could not be reached): 503 with ``Retry-After``;
- any other SUNMI error: 502.
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from sunmi_face_async import (
    APIError,
    ConflictError,
    DeadlineExceededError,
    NotFoundError,
    ParameterError,
    SunmiError,
    ThrottledError,
    TransportError,
    ValidationError,
)
from sunmi_face_async.webhook import PushEvent, callback_app

__all__ = [
    "MAX_JSON",
    "MAX_PICTURE",
    "READS",
    "PushReceiver",
    "error_response",
    "read_body",
    "read_json_object",
    "read_picture",
]

#: Methods that change nothing: their outcome is never "unknown".
READS = frozenset({"GET", "HEAD", "OPTIONS"})
#: What a client is told to wait when SUNMI could not be reached.
UNAVAILABLE_RETRY_AFTER = 5
#: The largest picture a route takes (SUNMI's own limit is about as large).
MAX_PICTURE = 1024 * 1024
#: The largest JSON body a route takes.
MAX_JSON = 64 * 1024


def _answer(status: int, error: str, detail: str, **extra: Any) -> JSONResponse:
    headers = extra.pop("headers", None)
    return JSONResponse({"error": error, "detail": detail, **extra}, status, headers=headers)


def error_response(exc: SunmiError, method: str) -> JSONResponse:
    """The HTTP answer to a SUNMI error raised while serving a ``method`` request."""
    if method not in READS and getattr(exc, "outcome_unknown", False):
        return _answer(
            502,
            "outcome_unknown",
            f"{exc}. The change may have been applied: check before sending it again.",
        )
    cause = exc.last_error if isinstance(exc, DeadlineExceededError) else exc
    if isinstance(cause, ThrottledError):
        wait = max(1, math.ceil(cause.retry_after or 1))
        return _answer(429, "throttled", str(exc), headers={"Retry-After": str(wait)})
    if isinstance(exc, DeadlineExceededError):
        return _answer(504, "deadline", str(exc))
    if isinstance(exc, NotFoundError):
        return _answer(404, "not_found", str(exc))
    if isinstance(exc, ValidationError):
        return _answer(422, "invalid", exc.problem, field=exc.field)
    if isinstance(exc, ParameterError):  # SUNMI refused a value the caller gave
        return _answer(422, "invalid", str(exc), field=None, code=exc.code)
    if isinstance(exc, ConflictError):
        return _answer(409, "conflict", str(exc))
    if isinstance(exc, TransportError):
        headers = {"Retry-After": str(UNAVAILABLE_RETRY_AFTER)}
        return _answer(503, "unavailable", str(exc), headers=headers)
    code = exc.code if isinstance(exc, APIError) else None
    return _answer(502, "sunmi_error", str(exc), code=code)


async def read_body(request: Request, field: str, limit: int) -> bytes:
    """The request body, refused (``ValidationError`` on ``field``) once it passes ``limit``.

    Read chunk by chunk, never more than ``limit`` bytes and one chunk: a client that sends
    (or only announces) a huge body gets its answer at once, not after it was all buffered.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ValidationError(field, f"is over {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ValidationError(field, f"is over {limit} bytes")
    return bytes(body)


async def read_picture(request: Request, limit: int = MAX_PICTURE) -> bytes:
    """The request body as a picture, at most ``limit`` bytes (``pic`` names the error)."""
    return await read_body(request, "pic", limit)


async def read_json_object(request: Request, limit: int = MAX_JSON) -> dict[str, Any]:
    """The request body as a JSON object, at most ``limit`` bytes (``body`` names the error)."""
    try:
        body = json.loads(await read_body(request, "body", limit))
    except ValueError:  # includes bad UTF-8
        raise ValidationError("body", "is not JSON") from None
    if not isinstance(body, dict):
        raise ValidationError("body", "must be a JSON object")
    return body


class PushReceiver:
    """SUNMI's push callbacks, verified and de-duplicated by ``callback_app``, into ``events``.

    An ASGI app as an object: Starlette and FastAPI serve an object (not a function) given
    as a route's endpoint as ASGI, at that exact path. A real app stores each event
    (idempotently) instead; raising from ``on_event`` makes the receiver answer 500, so SUNMI
    delivers the event again later.
    """

    def __init__(self, app_key: str) -> None:
        self.events: list[dict[str, Any]] = []
        self._app = callback_app(self.on_event, app_key)

    async def on_event(self, event: PushEvent) -> None:
        self.events.append(
            {"event": event.event, "shop": event.sunmi_shop_no, "payload": dict(event.payload)}
        )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._app(scope, receive, send)
