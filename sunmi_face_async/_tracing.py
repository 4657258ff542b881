"""An OpenTelemetry span per call, when ``opentelemetry-api`` is installed (the ``otel`` extra).

The import is tried once, here; without the package every client's tracer is None and a call
pays nothing. With it, spans go to whatever tracer provider the application set up (none: the
API's no-op tracer). A span holds the endpoint, the number of attempts, the last HTTP status
and vendor code, and the error's class name: never a parameter, a body, the key or the sign.
"""

from __future__ import annotations

import importlib
from contextlib import AbstractContextManager
from typing import Any

from ._version import __version__

_trace: Any
try:  # by name, so type checking needs no stubs of the optional package
    _trace = importlib.import_module("opentelemetry.trace")
except ImportError:  # the extra is not installed: no spans, no cost
    _trace = None
_NO_PROVIDER: tuple[type, ...] = (
    () if _trace is None else (_trace.ProxyTracerProvider, _trace.NoOpTracerProvider)
)

__all__ = ["active", "call_span", "failed", "finish", "tracer"]

NAME = "sunmi_face_async"


def active() -> bool:
    """Whether the application set a tracer provider (none: the API's no-op, skipped)."""
    return not isinstance(_trace.get_tracer_provider(), _NO_PROVIDER)


def tracer() -> Any:
    """The library's tracer, or None without opentelemetry-api."""
    if _trace is None:
        return None
    return _trace.get_tracer(NAME, __version__)


def call_span(tracer: Any, path: str) -> AbstractContextManager[Any]:
    """The span of one call, made current for its duration."""
    assert _trace is not None
    return tracer.start_as_current_span(  # type: ignore[no-any-return]
        f"sunmi {path}",
        kind=_trace.SpanKind.CLIENT,
        attributes={"sunmi.endpoint": path, "http.request.method": "POST"},
        record_exception=False,  # messages may quote the server; the class name is enough
        set_status_on_exception=False,
    )


def failed(span: Any, exc: BaseException) -> None:
    """Mark the span failed with the error's class name only."""
    assert _trace is not None
    if not span.is_recording():
        return
    name = type(exc).__name__
    span.set_attribute("error.type", name)
    span.set_status(_trace.Status(_trace.StatusCode.ERROR, name))


def finish(span: Any, attempts: int, status: int | None, code: int | None) -> None:
    """The call's outcome as span attributes."""
    if not span.is_recording():
        return
    span.set_attribute("sunmi.attempts", attempts)
    if status is not None:
        span.set_attribute("http.response.status_code", status)
    if code is not None:
        span.set_attribute("sunmi.code", code)
