"""What every command shares: the parsed global flags, the output, and the client.

A command body is an async function run with :func:`run_async`; the client it gets is built
from the settings (flags, then environment) when first needed, so commands that need no
credentials (``fake-server``, ``demo``, ``enroll --dry-run``) never ask for them.
"""

from __future__ import annotations

import asyncio
import difflib
import importlib.util
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import attrs
import click
import httpx

from ._config import ConfigFlags, Settings, resolve_settings
from ._exits import EXIT_USAGE, CliError, Terminated
from ._output import Output

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from .. import AsyncSunmiFace
    from ..models import FaceGroup

__all__ = ["State", "no_uvloop_option", "pass_state", "resolve_group", "run_async", "use_uvloop"]

T = TypeVar("T")


@attrs.define
class State:
    """Per-invocation state, stored as the click context's ``obj``."""

    flags: ConfigFlags = attrs.field(factory=ConfigFlags)
    json_mode: bool = False
    debug: bool = False
    env: Mapping[str, str] | None = None
    # What to tell the user on Ctrl-C (a bulk command names its resume command here).
    interrupt_hint: str | None = None
    # Builds the client's transport (one per client); None means the network. Tests pass
    # ``State(transport_factory=FakeSunmiCloud(...).transport)`` as the click ``obj``.
    transport_factory: Callable[[], httpx.AsyncBaseTransport] | None = None
    _settings: Settings | None = None
    _output: Output | None = None

    @property
    def output(self) -> Output:
        if self._output is None or self._output.json_mode != self.json_mode:
            self._output = Output(json_mode=self.json_mode)
        return self._output

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = resolve_settings(self.flags, self.env, prompt=_prompt_for_key)
            if self.debug:
                self.output.info(f"debug: {self._settings.describe()}")
        return self._settings

    @asynccontextmanager
    async def client(self, **overrides: Any) -> AsyncIterator[AsyncSunmiFace]:
        """A client for these settings, closed on exit."""
        from .. import AsyncSunmiFace

        settings = self.settings()
        kwargs: dict[str, Any] = {
            "sunmi_shop_no": settings.shop_no,
            "shop_id": settings.shop_id,
            "base_url": settings.base_url,
            "timeout": settings.timeout,
        }
        if self.transport_factory is not None:
            kwargs["transport"] = self.transport_factory()
        kwargs.update(overrides)
        async with AsyncSunmiFace(settings.app_id, settings.app_key, **kwargs) as client:
            yield client


def _prompt_for_key() -> str:
    if not sys.stdin.isatty():
        raise CliError("--ask-key needs a terminal to prompt on; use --app-key-file - instead")
    value: str = click.prompt("App key", hide_input=True, err=True)
    return value


pass_state = click.make_pass_decorator(State, ensure=True)


_uvloop_refused = False  # --no-uvloop on this invocation


def no_uvloop_option(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """The ``--no-uvloop`` flag's callback (run on every invocation, so it also resets)."""
    global _uvloop_refused
    _uvloop_refused = value


def use_uvloop() -> bool:
    """Whether commands run on uvloop: when it is installed (the ``[uvloop]`` extra; never on
    Windows) and neither ``--no-uvloop`` nor ``SUNMI_UVLOOP=0`` says no."""
    if _uvloop_refused or os.environ.get("SUNMI_UVLOOP", "").strip() in ("0", "false", "no"):
        return False
    return sys.platform != "win32" and importlib.util.find_spec("uvloop") is not None


def run_async(body: Callable[[], Awaitable[T]]) -> T:
    """Run one command body on a fresh event loop.

    SIGTERM (``kill``, a service manager, a CI timeout) stops the body like Ctrl-C does: it
    is cancelled, so journals close and temporary files go, and it ends as :class:`Terminated`
    (exit 143, with the same resume advice).
    """
    terminated = False

    async def main() -> T:
        nonlocal terminated
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()

        def on_sigterm() -> None:
            nonlocal terminated
            terminated = True
            if task is not None:
                task.cancel()

        try:
            loop.add_signal_handler(signal.SIGTERM, on_sigterm)
        except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not main thread
            return await body()
        try:
            return await body()
        finally:
            loop.remove_signal_handler(signal.SIGTERM)

    try:
        return anyio.run(main, backend_options={"use_uvloop": use_uvloop()})
    except (asyncio.CancelledError, KeyboardInterrupt):
        if terminated:
            raise Terminated from None
        # Python 3.10 has no Task.uncancel(), so anyio's runner lets Ctrl-C out as the main
        # task's CancelledError instead of KeyboardInterrupt (as 3.11+ does): say what it was.
        if sys.version_info >= (3, 11):
            raise
        raise KeyboardInterrupt from None


async def resolve_group(client: AsyncSunmiFace, ref: str) -> FaceGroup:
    """The group whose id, or else whose name, is ``ref``; CliError (exit 2) if none.

    Names are matched exactly (the cloud tells ``VIP`` from ``vip``); the error suggests the
    close names, so ``Strangers`` points at ``stranger``.
    """
    groups = await client.groups.list()
    for group in groups:
        if group.group_id == ref:
            return group
    for group in groups:
        if group.name == ref:
            return group
    by_folded = {g.name.casefold(): g.name for g in groups}
    close = difflib.get_close_matches(ref.casefold(), list(by_folded), n=3, cutoff=0.6)
    hint = ""
    if close:
        hint = " did you mean " + " or ".join(repr(by_folded[c]) for c in close) + "?"
    known = ", ".join(f"{g.name!r} ({g.group_id})" for g in groups) or "none"
    raise CliError(
        f"unknown group {ref!r}: no group has that id or name (names are case-sensitive);"
        f"{hint} known groups: {known}",
        EXIT_USAGE,
    )
