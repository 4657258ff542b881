"""``sunmi-face export --group G ... --format jsonl|csv``: every face of some groups.

A file given with ``--output`` is written beside its path and renamed into place when the
export is complete: it is whole or absent. CSV cells a spreadsheet would run as formulas are
neutralised unless ``--csv-raw``; on a terminal, control characters are shown escaped.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack, aclosing
from typing import TextIO, cast

import click

from ._app import cli, output_options
from ._bulkutil import progress_for
from ._exits import EXIT_OK, CliError
from ._runtime import State, pass_state, resolve_group, run_async
from ._safe import escape_json_text, safe_text

__all__ = ["export_command"]


@cli.command("export", short_help="Write every face of groups as JSONL or CSV.")
@click.option(
    "--group", "-g", "groups", multiple=True, required=True, help="Group id or name (repeat)."
)
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True
)
@click.option(
    "--output", "-o", default="-", show_default=True, metavar="PATH", help="File, or - for stdout."
)
@click.option(
    "--csv-raw",
    is_flag=True,
    help="Write CSV cells exactly as stored, even those starting with = + - @ (formulas).",
)
@click.option("--concurrency", type=click.IntRange(1, 64), default=8, show_default=True)
@output_options
@pass_state
def export_command(
    state: State, groups: tuple[str, ...], fmt: str, output: str, csv_raw: bool, concurrency: int
) -> int:
    """Write every face of the groups as JSON Lines or CSV (each face once).

    CSV cells starting with =, +, -, @, a tab or a carriage return get a leading ' so a
    spreadsheet shows them as text rather than running them (--csv-raw turns this off).

    \b
    Examples:
      sunmi-face export --group regular --format csv --output regular.csv
      sunmi-face export --group regular --group stranger > faces.jsonl
    """
    if state.json_mode and output == "-":
        raise click.UsageError(
            "--json prints a summary on stdout, where the export goes too: "
            "give --output PATH with --json, or leave --json out"
        )
    if csv_raw and fmt != "csv":
        raise click.UsageError("--csv-raw only applies to --format csv")
    from ..bulk.export import open_atomic

    with ExitStack() as stack:
        if output == "-":
            dest: TextIO = sys.stdout
        else:
            try:
                dest = stack.enter_context(open_atomic(output))
            except OSError as exc:
                raise CliError(f"cannot write {output}: {exc.strerror or exc}") from None
        if dest.isatty():  # a person reads it (stdout or --output /dev/tty): escape
            dest = cast(TextIO, _TerminalSafe(dest, fmt))
        shortfalls: dict[str, str] = {}
        count = run_async(
            lambda: _export(state, groups, fmt, dest, concurrency, csv_raw, shortfalls)
        )
    if state.json_mode:
        summary: dict[str, object] = {"exported": count, "output": output, "format": fmt}
        summary["shortfall"] = shortfalls
        state.output.json(summary)
    else:
        for group_id, detail in shortfalls.items():
            state.output.warn(f"group {group_id}: {detail} (skipped by the server or deleted)")
        where = "stdout" if output == "-" else output
        state.output.info(f"exported {count} faces to {where}")
    return EXIT_OK


async def _export(
    state: State,
    groups: tuple[str, ...],
    fmt: str,
    dest: TextIO,
    concurrency: int,
    raw: bool,
    shortfalls: dict[str, str],
) -> int:
    """Write the faces; a group whose pages brought fewer faces than the server counted is
    added to ``shortfalls`` (group id: what is missing)."""
    from ..bulk import BulkEvent, export_faces, write_csv, write_jsonl

    def note(event: BulkEvent) -> None:
        if event.kind == "shortfall" and event.key is not None:
            shortfalls[event.key] = event.detail

    async with state.client(max_connections=concurrency) as client:
        group_ids = [(await resolve_group(client, g)).group_id for g in groups]
        with progress_for(state, "export") as display:
            # Closed here, in this task, when writing fails (a reader that went away): left to
            # the garbage collector its page fetches would be cancelled from another task.
            async with aclosing(
                export_faces(
                    client,
                    group_ids,
                    concurrency=concurrency,
                    on_progress=display.update,
                    on_event=note,
                )
            ) as faces:
                if fmt == "csv":
                    return await write_csv(faces, dest, raw=raw)
                return await write_jsonl(faces, dest)


class _TerminalSafe:
    """stdout on a terminal: JSON Lines with unsafe characters \\u-escaped (the same values),
    CSV with them shown as escapes, so an exported name cannot steer the terminal."""

    def __init__(self, stream: TextIO, fmt: str) -> None:
        self._stream = stream
        self._fmt = fmt

    def write(self, text: str) -> int:
        if self._fmt == "jsonl":
            return self._stream.write(escape_json_text(text))
        lines = text.split("\r\n")  # the csv module ends rows with CRLF
        return self._stream.write(
            "\r\n".join(safe_text(line, keep_newlines=True) for line in lines)
        )

    def flush(self) -> None:
        self._stream.flush()
