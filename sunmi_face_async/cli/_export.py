"""``sunmi-face export --group G ... --format jsonl|csv``: every face of some groups."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TextIO

import click

from ._app import cli, output_options
from ._bulkutil import progress_for
from ._exits import EXIT_OK, CliError
from ._runtime import State, pass_state, resolve_group, run_async

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
@click.option("--concurrency", type=click.IntRange(1, 64), default=8, show_default=True)
@output_options
@pass_state
def export_command(
    state: State, groups: tuple[str, ...], fmt: str, output: str, concurrency: int
) -> int:
    """Write every face of the groups as JSON Lines or CSV (each face once).

    \b
    Examples:
      sunmi-face export --group VIP --format csv --output vip.csv
      sunmi-face export --group VIP --group Staff > faces.jsonl
    """

    with ExitStack() as stack:
        dest = sys.stdout if output == "-" else stack.enter_context(_open(output))
        count = run_async(lambda: _export(state, groups, fmt, dest, concurrency))
    where = "stdout" if output == "-" else output
    if state.json_mode and output == "-":
        state.output.info(f"exported {count} faces")
    elif state.json_mode:
        state.output.json({"exported": count, "output": where, "format": fmt})
    else:
        state.output.info(f"exported {count} faces to {where}")
    return EXIT_OK


async def _export(
    state: State, groups: tuple[str, ...], fmt: str, dest: TextIO, concurrency: int
) -> int:
    from ..bulk import export_faces, write_csv, write_jsonl

    async with state.client(max_connections=concurrency) as client:
        group_ids = [(await resolve_group(client, g)).group_id for g in groups]
        write = write_csv if fmt == "csv" else write_jsonl
        with progress_for(state, "export") as display:
            faces = export_faces(
                client, group_ids, concurrency=concurrency, on_progress=display.update
            )
            return await write(faces, dest)


def _open(output: str) -> TextIO:
    try:
        return Path(output).open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise CliError(f"cannot write {output}: {exc.strerror or exc}") from None
