"""The ``sunmi-face`` root command: global flags, subcommands, and the exit-code policy.

Every failure ends here and becomes one ``error:`` line plus an exit code (0 all done, 1 some
items failed, 2 usage or configuration error, 130 interrupted, 141 stdout closed early,
143 terminated by SIGTERM); ``--debug`` adds the traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

from .. import __version__
from ._config import ConfigFlags
from ._exits import (
    EXIT_BROKEN_PIPE,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_USAGE,
    StdoutClosed,
    Terminated,
    describe_error,
)
from ._runtime import State, no_uvloop_option
from ._safe import safe_traceback

__all__ = ["SunmiFaceCli", "cli", "main", "output_options"]

EPILOG = """\b
Configuration (flags win over the environment):
  SUNMI_APP_ID, SUNMI_APP_KEY (or SUNMI_APP_KEY_FILE), SUNMI_SHOP_NO, SUNMI_BASE_URL
\b
Exit codes: 0 all done, 1 some items failed, 2 usage or configuration error,
130 interrupted (Ctrl-C), 141 stdout closed early (| head), 143 terminated (SIGTERM).
"""


def _unwrap(exc: BaseException) -> BaseException:
    """The one real error inside (nested) single-member exception groups."""
    inner = getattr(exc, "exceptions", None)
    while isinstance(inner, tuple) and len(inner) == 1 and isinstance(inner[0], BaseException):
        exc = inner[0]
        inner = getattr(exc, "exceptions", None)
    return exc


class SunmiFaceCli(click.Group):
    """A click group whose ``main`` maps every outcome to the documented exit codes."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        state = extra.pop("obj", None) or State()
        code = _guarded(
            state,
            lambda: super(SunmiFaceCli, self).main(
                args, prog_name, complete_var, standalone_mode=False, obj=state, **extra
            ),
        )
        if standalone_mode:
            sys.exit(code)
        return code

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:  # click itself would exit 1 for it
            raise StdoutClosed from exc


def _guarded(state: State, call: Callable[[], Any]) -> int:
    out = state.output
    try:
        result = call()
    except click.Abort as exc:
        if isinstance(exc.__cause__, EOFError):
            out.error("no input (end of file)")
            return EXIT_USAGE
        return _interrupted(state, exc.__cause__)  # click turns Ctrl-C and SIGTERM into Abort
    except KeyboardInterrupt as exc:
        return _interrupted(state, exc)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except (BrokenPipeError, StdoutClosed):
        return _broken_pipe()
    except Exception as exc:
        return _report(state, _unwrap(exc))
    if isinstance(result, int) and not isinstance(result, bool):
        return result
    return EXIT_OK


def _report(state: State, exc: BaseException) -> int:
    if isinstance(exc, KeyboardInterrupt):
        return _interrupted(state, exc)
    if isinstance(exc, BrokenPipeError | StdoutClosed):
        return _broken_pipe()
    if isinstance(exc, click.ClickException):
        exc.show()
        return exc.exit_code
    described = describe_error(exc)
    if state.debug:
        # The messages in it may quote the server: escaped, a newline in one included.
        sys.stderr.write(safe_traceback(exc))
    if described is None:
        hint = "" if state.debug else " (run with --debug for the traceback)"
        state.output.error(f"unexpected {type(exc).__name__}: {exc}{hint}")
        return EXIT_FAILED
    message, code = described
    state.output.error(message)
    return code


def _interrupted(state: State, exc: BaseException | None = None) -> int:
    """Ctrl-C or SIGTERM: one line, what to do next, 130 or 143."""
    terminated = isinstance(exc, Terminated)
    state.output.error("terminated (SIGTERM)" if terminated else "interrupted")
    if state.interrupt_hint:
        state.output.info(state.interrupt_hint)
    return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED


def _broken_pipe() -> int:
    """The reader of stdout went away (``| head``): end quietly, as Unix tools do.

    Nothing more can reach stdout; it is pointed at the null device so the interpreter's last
    flush does not complain on stderr either.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return EXIT_BROKEN_PIPE


def _set_json(ctx: click.Context, _: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(State).json_mode = True


def _set_debug(ctx: click.Context, _: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(State).debug = True


def output_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--json`` and ``--debug`` on a subcommand too (``sunmi-face groups list --json``)."""
    command = click.option(
        "--json",
        "json_mode",
        is_flag=True,
        expose_value=False,
        callback=_set_json,
        is_eager=True,
        help="Print results as JSON (for scripts).",
    )(command)
    return click.option(
        "--debug",
        is_flag=True,
        expose_value=False,
        callback=_set_debug,
        is_eager=True,
        help="Print tracebacks and settings (the key stays masked).",
    )(command)


@click.group(
    cls=SunmiFaceCli, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.option("--app-id", metavar="ID", help="Integrator app id [env: SUNMI_APP_ID].")
@click.option(
    "--app-key-file",
    metavar="PATH",
    help="Read the app key from this file ('-' = stdin) [env: SUNMI_APP_KEY_FILE].",
)
@click.option("--ask-key", is_flag=True, help="Prompt for the app key (hidden input).")
@click.option("--shop-no", metavar="NO", help="Store number, sunmi_shop_no [env: SUNMI_SHOP_NO].")
@click.option("--shop-id", metavar="ID", help="Legacy store id instead of --shop-no.")
@click.option("--base-url", metavar="URL", help="API base URL [env: SUNMI_BASE_URL].")
@click.option("--uat", is_flag=True, help="Use SUNMI's UAT (test) gateway.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), help="Seconds per request.")
@click.option(
    "--no-uvloop",
    is_flag=True,
    expose_value=False,
    callback=no_uvloop_option,
    help="Use asyncio's own event loop even when uvloop is installed [env: SUNMI_UVLOOP=0].",
)
@output_options
@click.version_option(__version__, "--version", prog_name="sunmi-face")
@click.pass_context
def cli(
    ctx: click.Context,
    app_id: str | None,
    app_key_file: str | None,
    ask_key: bool,
    shop_no: str | None,
    shop_id: str | None,
    base_url: str | None,
    uat: bool,
    timeout: float | None,
) -> None:
    """Manage SUNMI Digital Store face groups and faces, and enroll or export them in bulk.

    Start with `sunmi-face demo`, or `sunmi-face fake-server` to try the commands locally.
    """
    state = ctx.ensure_object(State)
    state.flags = ConfigFlags(
        app_id=app_id,
        app_key_file=app_key_file,
        ask_key=ask_key,
        shop_no=shop_no,
        shop_id=shop_id,
        base_url=base_url,
        uat=uat,
        timeout=timeout,
    )


def main() -> None:
    """The ``sunmi-face`` console script."""
    cli.main(prog_name="sunmi-face")
