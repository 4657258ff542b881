"""Which event loop a client's connections belong to, and a clear error on any other.

Sockets, and the connection pools holding them, belong to the event loop that opened them. A
client kept across two ``asyncio.run()`` calls would otherwise fail deep inside the HTTP
library with "Event loop is closed" (or hang, when the first loop still runs in another
thread). The first call binds the client's connections to the running asyncio loop; a call on
any other raises :class:`ClientLoopError` saying what to do. Under trio nothing is bound.
"""

from __future__ import annotations

import asyncio
import weakref

from .errors import ClientLoopError

__all__ = ["LoopHome", "loop_error"]

_ADVICE = (
    "make one client per application, opened in its lifespan (or inside the asyncio.run() "
    "that uses it) and closed there"
)


def loop_error(opened: asyncio.AbstractEventLoop | None) -> ClientLoopError:
    """The error for a client whose connections were opened on ``opened`` (None: gone)."""
    state = "it is closed now" if opened is None or opened.is_closed() else "it still runs"
    return ClientLoopError(
        f"this AsyncSunmiFace was opened on another event loop ({state}); {_ADVICE}"
    )


class LoopHome:
    """The asyncio loop a transport's connections were opened on, shared by its clones."""

    __slots__ = ("_loop", "bound")

    def __init__(self, *, bound: bool) -> None:
        self.bound = bound  # False for a caller's transport, which may belong to no loop
        self._loop: weakref.ref[asyncio.AbstractEventLoop] | None = None

    def check(self) -> None:
        """Bind to the running loop on first use; raise ``ClientLoopError`` on another."""
        if not self.bound:
            return
        loop = asyncio._get_running_loop()  # None under trio: nothing to compare with
        if loop is None:
            return
        home = self._loop
        if home is None:
            self._loop = weakref.ref(loop)
            return
        opened = home()
        if opened is not loop:
            raise loop_error(opened)

    def elsewhere(self) -> bool:
        """Whether the connections were opened on a loop other than the running one."""
        if self._loop is None:
            return False
        loop = asyncio._get_running_loop()
        return loop is not None and self._loop() is not loop
