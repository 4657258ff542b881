"""Helpers the bulk commands share: the progress display, failure lines and the exit code."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import click

from ._exits import EXIT_FAILED, EXIT_OK, CliError
from ._progress import ProgressDisplay
from ._runtime import State

__all__ = [
    "MAX_FAILURE_LINES",
    "exit_code_for",
    "finite_seconds",
    "progress_for",
    "read_ids",
    "show_failures",
]

MAX_FAILURE_LINES = 20


def finite_seconds(ctx: Any, param: click.Parameter, value: float) -> float:
    """A click callback: ``FloatRange`` takes nan (``nan < 0`` is false), a wait never ending."""
    if not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number of seconds", param=param)
    return value


def progress_for(state: State, label: str) -> ProgressDisplay:
    """A live bar when stderr is a terminal (whatever stdout is: ``export > faces.jsonl``
    still shows it), plain lines every 2 s otherwise; both on stderr."""
    return ProgressDisplay(label, state.output.stderr, live=state.output.stderr.is_terminal)


def show_failures(state: State, failures: Sequence[tuple[str, str]], total_failed: int) -> None:
    """One stderr line per failed item, at most ``MAX_FAILURE_LINES`` of them."""
    for key, reason in failures[:MAX_FAILURE_LINES]:
        state.output.info(f"failed: {key}: {reason}")
    hidden = total_failed - min(len(failures), MAX_FAILURE_LINES)
    if hidden > 0:
        more = "; see --json for the full list" if not state.json_mode else ""
        state.output.info(f"... and {hidden} more failures{more}")


def exit_code_for(failed: int) -> int:
    return EXIT_FAILED if failed else EXIT_OK


def read_ids(ids: Iterable[str], ids_file: str | None) -> list[str]:
    """Face ids from the arguments and from a file (one per line, ``-`` = stdin)."""
    out = [i.strip() for i in ids if i.strip()]
    if ids_file is not None:
        try:
            if ids_file == "-":
                text = sys.stdin.read()
            else:
                text = Path(ids_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot read {ids_file}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise CliError(f"{ids_file} is not UTF-8 text") from None
        out.extend(line.strip() for line in text.splitlines() if line.strip())
    return list(dict.fromkeys(out))  # drops repeats, keeps the order
