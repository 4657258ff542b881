"""``SUNMI_LOG=debug|info``: the library's log lines on stderr without writing any code.

Read when a client is built; the handler is added once (a second client, or a second read,
finds it and adds nothing), on the ``sunmi_face_async`` logger only, so an application's own
logging set-up is left alone. When the application already has a handler that would show the
lines (e.g. ``logging.basicConfig()``'s on the root logger), none is added and the level alone
is set: the lines appear once, in the application's format. Unset or empty: nothing is
configured.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

from .errors import ValidationError

__all__ = ["configure_from_env"]

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _EnvHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler SUNMI_LOG adds (its class marks it, so it is never added twice)."""


def configure_from_env(environ: Mapping[str, str] | None = None) -> None:
    """Send the library's logging at the level ``SUNMI_LOG`` names to stderr."""
    value = (os.environ if environ is None else environ).get("SUNMI_LOG", "").strip().lower()
    if not value:
        return
    level = _LEVELS.get(value)
    if level is None:
        raise ValidationError("SUNMI_LOG", f"must be debug or info; got {value!r}")
    logger = logging.getLogger("sunmi_face_async")
    logger.setLevel(level)
    handler = next((h for h in logger.handlers if isinstance(h, _EnvHandler)), None)
    if handler is None and _shown_elsewhere(logger, level):
        return
    if handler is None:
        handler = _EnvHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(_FORMAT))
        logger.addHandler(handler)
    handler.setLevel(level)


def _shown_elsewhere(logger: logging.Logger, level: int) -> bool:
    """Whether a handler of the application (on this logger or one it propagates to) would
    already show records of ``level``."""
    current: logging.Logger | None = logger
    while current is not None:
        if any(handler.level <= level for handler in current.handlers):
            return True
        current = current.parent if current.propagate else None
    return False
