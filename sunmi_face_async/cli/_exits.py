"""Exit codes, and the one-line message each kind of failure prints.

0 all done, 1 some items (or the one request) failed, 2 usage or configuration error,
130 interrupted (Ctrl-C), 141 stdout closed early (``| head``), 143 terminated (SIGTERM).
Every failure the user can cause becomes one line starting ``error:``; the traceback is only
for ``--debug``.
"""

from __future__ import annotations

from ..errors import (
    APIError,
    AuthenticationError,
    GroupNotEmptyError,
    ProtocolError,
    ShopNotFoundError,
    SunmiError,
    TransportError,
    ValidationError,
)

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "CliError",
    "StdoutClosed",
    "Terminated",
    "describe_error",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, what a shell reports for a process killed by it
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader of stdout went away (``| head``)


CREDENTIALS_HINT = (
    "check the app id (--app-id, SUNMI_APP_ID), the app key (SUNMI_APP_KEY), "
    "the store number (--shop-no, SUNMI_SHOP_NO) and the clock"
)
NOT_EMPTY_HINT = (
    "a group that holds faces cannot be deleted: delete them first "
    "(sunmi-face faces delete --group GROUP --all) or move them "
    "(sunmi-face faces move --from GROUP --to OTHER --all)"
)


class StdoutClosed(Exception):
    """The reader of stdout went away (``| head``): the command ends quietly with
    ``EXIT_BROKEN_PIPE``, as Unix tools killed by SIGPIPE do."""


class Terminated(KeyboardInterrupt):
    """SIGTERM stopped the command: handled like Ctrl-C, but exits ``EXIT_TERMINATED``."""


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
    if isinstance(exc, AuthenticationError | ShopNotFoundError):
        # 5041 (invalid integrator, or no such store for it) is a wrong app id or store
        # number: a configuration error like a wrong key, with the same hint.
        return f"the server refused the credentials ({exc}); {CREDENTIALS_HINT}", EXIT_USAGE
    if isinstance(exc, GroupNotEmptyError):
        return f"the server refused the request: {exc}; {NOT_EMPTY_HINT}", EXIT_FAILED
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
