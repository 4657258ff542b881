"""Signals a caller can watch: one record per attempt for metrics hooks, the debug log line,
and the call's OpenTelemetry span (``_tracing``), none of them holding a secret.

A record says what happened to one attempt: which endpoint, which attempt, the HTTP status
and vendor code when an answer came, how long it took, whether the request may have reached
the server and whether its outcome is unknown, and the error's class name. It never holds
the parameters, the body, the app_key or the sign.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any

import attrs

from . import _tracing
from ._attempt import Progress
from ._endpoints import Endpoint
from .errors import APIError, SunmiError, TransportError, ValidationError

__all__ = [
    "LOG_ONLY",
    "AttemptHook",
    "AttemptRecord",
    "CallWatch",
    "Signals",
    "log_attempt",
    "signals_for",
]

logger = logging.getLogger("sunmi_face_async")


@attrs.frozen
class AttemptRecord:
    """What happened to one attempt of a call (given to ``on_attempt`` hooks).

    ``latency`` is in seconds, from signing the attempt to its answer or failure. ``sent`` is
    False only when the request surely never reached the server; ``outcome_unknown`` is True
    when it may have been applied without an answer saying so. ``error`` is the class name of
    the attempt's error (``"RequestTimeout"``, ``"ServerError"``...), None when it succeeded;
    an attempt cancelled in flight is reported too, with the cancellation's class name.
    """

    endpoint: str
    attempt: int
    http_status: int | None
    code: int | None
    latency: float
    sent: bool
    outcome_unknown: bool
    error: str | None


AttemptHook = Callable[[AttemptRecord], object]


def _check_hooks(on_attempt: object) -> tuple[AttemptHook, ...]:
    """``on_attempt`` as a tuple of plain callables, refused when it is anything else."""
    if on_attempt is None:
        return ()
    hooks = on_attempt if isinstance(on_attempt, Sequence) else (on_attempt,)
    for hook in hooks:
        if not callable(hook):
            raise ValidationError("on_attempt", "must be a callable or a list of callables")
        if inspect.iscoroutinefunction(hook):
            raise ValidationError(
                "on_attempt", "must be a plain function: hooks are called synchronously"
            )
    return tuple(hooks)


class Signals:
    """A client's hooks and tracer; the transport asks it to watch each call."""

    __slots__ = ("hooks", "tracer")

    def __init__(self, hooks: tuple[AttemptHook, ...], tracer: Any) -> None:
        self.hooks = hooks
        self.tracer = tracer

    def watch(self, endpoint: Endpoint) -> CallWatch:
        """A :class:`CallWatch` for one call (a context manager: the call's span when
        tracing is on)."""
        return CallWatch(self.hooks, endpoint, self.tracer)


#: What a call without hooks or tracer watches when debug logging is on: its log lines.
LOG_ONLY = Signals((), None)


def signals_for(on_attempt: object) -> Signals | None:
    """The signals of a client with these hooks; None when there is nothing to tell."""
    hooks = _check_hooks(on_attempt)
    tracer = _tracing.tracer()
    if not hooks and tracer is None:
        return None
    return Signals(hooks, tracer)


class CallWatch:
    """One call's attempts as they end: logged, handed to the hooks, kept for the span.

    Entered around the call; it opens the call's span only when an OpenTelemetry tracer
    provider is set (the API's own no-op provider would cost a span's set-up per call)."""

    __slots__ = (
        "_pending",
        "_span",
        "_spanning",
        "attempts",
        "code",
        "endpoint",
        "hooks",
        "http_status",
        "tracer",
    )

    def __init__(self, hooks: tuple[AttemptHook, ...], endpoint: Endpoint, tracer: Any) -> None:
        self.hooks = hooks
        self.endpoint = endpoint
        self.tracer = tracer
        self.attempts = 0
        self.http_status: int | None = None
        self.code: int | None = None
        self._spanning: AbstractContextManager[Any] | None = None
        self._span: Any = None
        self._pending: tuple[int, float, Progress] | None = None  # begun, not yet reported

    def __enter__(self) -> CallWatch:
        if self.tracer is not None and _tracing.active():
            self._spanning = _tracing.call_span(self.tracer, self.endpoint.path)
            self._span = self._spanning.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None and self._pending is not None:
            # Cancelled (or failed) inside an attempt: report it as it stood, since a
            # request the server holds may be applied.
            attempt, started, progress = self._pending
            sent = progress.maybe_sent
            self.attempts = attempt
            self._report(attempt, None, None, started, sent, sent, type(exc).__name__)
        spanning = self._spanning
        if spanning is None:
            return
        if exc is not None:
            _tracing.failed(self._span, exc)
        _tracing.finish(self._span, self.attempts, self.http_status, self.code)
        spanning.__exit__(exc_type, exc, tb)

    def attempt(
        self,
        attempt: int,
        status: int | None,
        code: int | None,
        started: float,
        error: SunmiError | None,
    ) -> None:
        self._pending = None
        self.attempts = attempt
        self.http_status = status
        self.code = code
        sent, unknown = _reach(error)
        name = None if error is None else type(error).__name__
        self._report(attempt, status, code, started, sent, unknown, name)

    def begin(self, attempt: int, started: float, progress: Progress) -> None:
        """Note the attempt about to be sent (reported on exit if it never ends)."""
        self._pending = (attempt, started, progress)

    def _report(
        self,
        attempt: int,
        status: int | None,
        code: int | None,
        started: float,
        sent: bool,
        unknown: bool,
        error: str | None,
    ) -> None:
        latency = time.perf_counter() - started
        log_attempt(self.endpoint, attempt, status, code, latency)
        if not self.hooks:
            return
        record = AttemptRecord(
            endpoint=self.endpoint.path,
            attempt=attempt,
            http_status=status,
            code=code,
            latency=latency,
            sent=sent,
            outcome_unknown=unknown,
            error=error,
        )
        for hook in self.hooks:
            try:
                hook(record)
            except Exception as exc:  # a metrics hook must never break the call
                logger.warning(
                    "on_attempt hook %r raised %s; the call goes on",
                    getattr(hook, "__qualname__", type(hook).__name__),
                    type(exc).__name__,
                    exc_info=True,
                )


def _reach(error: SunmiError | None) -> tuple[bool, bool]:
    """``(sent, outcome_unknown)`` of an attempt that ended with ``error``."""
    if isinstance(error, TransportError):
        return error.sent, error.outcome_unknown
    if isinstance(error, APIError):
        return True, error.outcome_unknown
    return True, False  # an answer came (a success, or one that was not a SUNMI envelope)


def log_attempt(
    endpoint: Endpoint, attempt: int, status: int | None, code: int | None, latency: float
) -> None:
    """The attempt's debug line (nothing but numbers and the path)."""
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "POST %s attempt=%d http_status=%s code=%s elapsed_ms=%.1f",
            endpoint.path,
            attempt,
            status if status is not None else "-",
            code if code is not None else "-",
            latency * 1000,
        )
