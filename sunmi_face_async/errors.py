"""The exception tree.

Everything the library raises on purpose is a :class:`SunmiError`. The branch says what went
wrong and what a caller can do about it: fix the input (``ValidationError``), retry or check
(``TransportError``, whose ``sent`` says whether the request may have been applied), report a
broken server (``ProtocolError``) or handle the API's answer (``APIError`` and one subclass per
row of the vendor's code table). No message or repr ever holds the app_key.
"""

from __future__ import annotations

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ClientLoopError",
    "ConflictError",
    "DataNotFoundError",
    "DatabaseError",
    "DeadlineExceededError",
    "DefaultGroupDeleteError",
    "DefaultGroupUpdateError",
    "FaceNotInGroupError",
    "FileStorageError",
    "GroupCreationFailedError",
    "GroupExistsError",
    "GroupLookupError",
    "GroupNotEmptyError",
    "GroupNotFoundError",
    "InvalidNonceError",
    "LimitExceededError",
    "NotFoundError",
    "ParameterError",
    "ProtocolError",
    "RecordNotFoundError",
    "RequestTimeout",
    "ServerError",
    "ShopNotFoundError",
    "SignatureError",
    "SunmiError",
    "ThrottledError",
    "TimestampExpiredError",
    "TransportError",
    "ValidationError",
    "error_for_code",
]


class SunmiError(Exception):
    """Base of every error this library raises on purpose."""


class ValidationError(SunmiError, ValueError):
    """Bad input caught before anything was sent. ``field`` names the culprit."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class TransportError(SunmiError):
    """The network failed.

    ``sent`` is False when the request certainly never reached the server (so it is safe to
    send again) and True when it may have been applied: the outcome is unknown.
    """

    def __init__(self, message: str, *, endpoint: str, sent: bool) -> None:
        self.endpoint = endpoint
        self.sent = sent
        self.outcome_unknown = sent
        suffix = "; the outcome is unknown" if sent else "; the request was not sent"
        super().__init__(f"{endpoint}: {message}{suffix}")


class RequestTimeout(TransportError):
    """The request timed out (connecting, writing, reading or waiting for a connection)."""


class DeadlineExceededError(RequestTimeout):
    """The call's deadline ran out: the whole call, with all its retries, took too long.

    The deadline is ``with_options(deadline=...)`` or the retry policy's ``total``. It is
    raised when the deadline cut an attempt short, and when the retry the call would make next
    (its wait and a new attempt) could not finish before the deadline. ``deadline`` is the
    bound in seconds, ``attempts`` the number of attempts made, ``last_error`` the error of
    the last attempt when it did not time out (also its ``__cause__``). ``sent`` is True when
    any attempt may have been applied: then the outcome is unknown.
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint: str,
        sent: bool,
        deadline: float,
        attempts: int,
        last_error: SunmiError | None = None,
    ) -> None:
        super().__init__(message, endpoint=endpoint, sent=sent)
        self.deadline = deadline
        self.attempts = attempts
        self.last_error = last_error


class ClientLoopError(SunmiError, RuntimeError):
    """The client was used on another event loop than the one its connections were opened on.

    Connections belong to the event loop that opened them: a client kept across two
    ``asyncio.run()`` calls (or shared between threads) cannot use them. Make one client per
    application, opened in its lifespan (or per ``asyncio.run``), and close it there.
    """


class ClientClosedError(TransportError, RuntimeError):
    """The client was closed (``aclose``) before or while the call ran.

    A call still waiting for a connection, or not yet started, is never sent (``sent`` is
    False); a call that was in flight is cut off and its outcome is unknown (``sent`` True).
    """


class GroupLookupError(SunmiError, LookupError):
    """No group, or more than one, carries the name that was looked up."""

    def __init__(self, name: str, found: int) -> None:
        self.name = name
        self.found = found
        what = "no group is" if found == 0 else f"{found} groups are"
        super().__init__(f"{what} named {name!r}")


class ProtocolError(SunmiError):
    """The response was not a valid SUNMI envelope; ``snippet`` keeps its first bytes."""

    def __init__(
        self, message: str, *, endpoint: str, http_status: int | None = None, snippet: str = ""
    ) -> None:
        self.endpoint = endpoint
        self.http_status = http_status
        self.snippet = snippet
        detail = f" (HTTP {http_status})" if http_status is not None else ""
        shown = f": {snippet!r}" if snippet else ""
        super().__init__(f"{endpoint}: {message}{detail}{shown}")


class APIError(SunmiError):
    """The API answered with an error code or an error HTTP status.

    ``outcome_unknown`` is True when a call that creates something got an answer (such as a
    gateway 5xx) that does not tell whether the change was applied.
    """

    def __init__(
        self,
        code: int | None,
        msg: str,
        *,
        endpoint: str,
        http_status: int | None = 200,
        outcome_unknown: bool = False,
        retry_after: float | None = None,
    ) -> None:
        self.code = code
        self.msg = msg
        self.endpoint = endpoint
        self.http_status = http_status
        self.outcome_unknown = outcome_unknown
        self.retry_after = retry_after
        what = f"code {code}" if code is not None else f"HTTP {http_status}"
        tail = "; the outcome is unknown" if outcome_unknown else ""
        super().__init__(f"{endpoint}: {what}: {msg}{tail}")

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, msg={self.msg!r}, "
            f"endpoint={self.endpoint!r}, http_status={self.http_status!r})"
        )


class AuthenticationError(APIError):
    """The gateway refused the credentials or the signature (5090-5092, HTTP 401)."""


class SignatureError(AuthenticationError):
    """5090: the sign does not match (wrong app_key or app_id)."""


class TimestampExpiredError(AuthenticationError):
    """5091: the timestamp is outside the gateway's window (check the clock)."""


class InvalidNonceError(AuthenticationError):
    """5092: the ``random`` value was malformed or already used."""


class BadRequestError(APIError):
    """The request's parameters were refused."""


class ParameterError(BadRequestError):
    """5020, 5022, 5023: a parameter is missing or malformed."""


class ShopNotFoundError(BadRequestError):
    """5041: no shop in the request, or the integrator is not valid for it."""


class NotFoundError(APIError):
    """Something named in the request does not exist."""


class DataNotFoundError(NotFoundError):
    """5013: data not found (also an invalid integrator or shop)."""


class RecordNotFoundError(NotFoundError):
    """5506: no such record."""


class FaceNotInGroupError(NotFoundError):
    """5521: the face is not in the given group."""


class GroupNotFoundError(NotFoundError):
    """5522: the group does not exist."""


class ConflictError(APIError):
    """The request conflicts with the store's state or limits."""


class GroupNotEmptyError(ConflictError):
    """5509: a group that still holds faces cannot be deleted."""


class LimitExceededError(ConflictError):
    """5520: the group count or the face capacity limit is reached."""


class GroupExistsError(ConflictError):
    """5523: a group with that name already exists."""


class DefaultGroupDeleteError(ConflictError):
    """5524: default groups cannot be deleted."""


class DefaultGroupUpdateError(ConflictError):
    """5525: default groups cannot be modified."""


class ServerError(APIError):
    """The server failed (5000, 5005, 5006, 5518, HTTP 5xx)."""


class DatabaseError(ServerError):
    """5000: database error; transient."""


class FileStorageError(ServerError):
    """5005, 5006: the server could not store the file."""


class GroupCreationFailedError(ServerError):
    """5518: the group could not be created."""


class ThrottledError(APIError):
    """HTTP 429: too many requests; ``retry_after`` gives the server's hint in seconds."""


_CODE_CLASSES: dict[int, type[APIError]] = {
    5000: DatabaseError,
    5005: FileStorageError,
    5006: FileStorageError,
    5013: DataNotFoundError,
    5020: ParameterError,
    5022: ParameterError,
    5023: ParameterError,
    5041: ShopNotFoundError,
    5090: SignatureError,
    5091: TimestampExpiredError,
    5092: InvalidNonceError,
    5506: RecordNotFoundError,
    5509: GroupNotEmptyError,
    5518: GroupCreationFailedError,
    5520: LimitExceededError,
    5521: FaceNotInGroupError,
    5522: GroupNotFoundError,
    5523: GroupExistsError,
    5524: DefaultGroupDeleteError,
    5525: DefaultGroupUpdateError,
}


def error_for_code(code: int | None, http_status: int | None = 200) -> type[APIError]:
    """The exception class for an envelope code, falling back on the HTTP status."""
    if code is not None and code in _CODE_CLASSES:
        return _CODE_CLASSES[code]
    if http_status == 401:
        return AuthenticationError
    if http_status == 429:
        return ThrottledError
    if http_status is not None and http_status >= 500:
        return ServerError
    return APIError
