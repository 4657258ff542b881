"""Exit codes, and the one-line message each kind of failure prints.

0 all done, 1 some items (or the one request) failed, 2 usage or configuration error,
130 interrupted. Every failure the user can cause becomes one line starting ``error:``; the
traceback is only for ``--debug``.
"""

from __future__ import annotations

from ..errors import (
    APIError,
    AuthenticationError,
    ProtocolError,
    SunmiError,
    TransportError,
    ValidationError,
)

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CliError",
    "describe_error",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """A failure the CLI explains itself: ``message`` is printed as ``error: <message>``."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def describe_error(exc: BaseException) -> tuple[str, int] | None:
    """The message and exit code for an error the user can cause; None for a bug."""
    if isinstance(exc, CliError):
        return exc.message, exc.exit_code
    if isinstance(exc, ValidationError):
        return f"invalid {exc.field}: {exc.problem}", EXIT_USAGE
    if isinstance(exc, AuthenticationError):
        hint = "check the app id, the app key, the store number and the clock"
        return f"the server refused the credentials ({exc}); {hint}", EXIT_USAGE
    if isinstance(exc, APIError):
        return f"the server refused the request: {exc}", EXIT_FAILED
    if isinstance(exc, TransportError):
        return f"network failure: {exc}", EXIT_FAILED
    if isinstance(exc, ProtocolError):
        return f"unexpected answer from the server: {exc}", EXIT_FAILED
    if isinstance(exc, SunmiError):
        return str(exc), EXIT_FAILED
    if isinstance(exc, OSError) and exc.filename is not None:
        reason = exc.strerror or type(exc).__name__
        return f"cannot use {exc.filename}: {reason}", EXIT_USAGE
    return None
