"""``sunmi-face export --group G ... --format jsonl|csv|manifest``: every face of some groups.

``--format manifest`` writes what ``enroll`` and ``sync`` read back (``_export_manifest``),
for every group with ``--all-groups`` and every store of a ``--shops`` file.

A file given with ``--output`` is written beside its path and renamed into place when the
export is complete: it is whole or absent. CSV cells a spreadsheet would run as formulas are
neutralised unless ``--csv-raw``; on a terminal, control characters are shown escaped.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack, aclosing
from pathlib import Path
from typing import TextIO, cast

import click

from ..models import CUSTOM_SLOTS
from ._app import cli, output_options
from ._bulkutil import progress_for
from ._exits import EXIT_OK, CliError
from ._export_manifest import ManifestRequest, export_manifest
from ._runtime import State, pass_state, resolve_group, run_async
from ._safe import escape_json_text, safe_text

__all__ = ["export_command"]


@cli.command("export", short_help="Write every face of groups as JSONL, CSV or a manifest.")
@click.option("--group", "-g", "groups", multiple=True, help="Group id or name (repeat).")
@click.option("--all-groups", is_flag=True, help="Every group of the store (or stores).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv", "manifest"]),
    default="jsonl",
    show_default=True,
    help="manifest: the columns enroll and sync read (CSV; JSON Lines if PATH ends .jsonl).",
)
@click.option(
    "--picture-template",
    metavar="TEMPLATE",
    help="manifest: each face's picture path, e.g. 'pics/{external_key}.jpg' (fields: "
    "external_key, face_id, group, group_id, sunmi_shop_no, name).",
)
@click.option(
    "--external-key-slot",
    type=click.IntRange(1, CUSTOM_SLOTS),
    help="manifest: the custom value slot that holds each face's external key.",
)
@click.option(
    "--shops",
    "shops_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="manifest: export every store listed in this file (one sunmi_shop_no a line).",
)
@click.option(
    "--map-shop",
    "map_shop",
    multiple=True,
    metavar="OLD=NEW",
    help="manifest: write NEW in the sunmi_shop_no column for the faces of store OLD "
    "(to enroll them into another store; repeat).",
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
    state: State,
    groups: tuple[str, ...],
    all_groups: bool,
    fmt: str,
    picture_template: str | None,
    external_key_slot: int | None,
    shops_file: Path | None,
    map_shop: tuple[str, ...],
    output: str,
    csv_raw: bool,
    concurrency: int,
) -> int:
    """Write every face of the groups as JSON Lines, CSV or a manifest (each face once).

    CSV cells starting with =, +, -, @, a tab or a carriage return get a leading ' so a
    spreadsheet shows them as text rather than running them (--csv-raw turns this off).

    \b
    Examples:
      sunmi-face export --group regular --format csv --output regular.csv
      sunmi-face export --group regular --group stranger > faces.jsonl
      sunmi-face export --all-groups --format manifest --picture-template 'p/{face_id}.jpg' -o m.csv
    """
    if bool(groups) == all_groups:
        raise click.UsageError("give --group G (repeatable) or --all-groups")
    if fmt == "manifest":
        return export_manifest(
            state,
            ManifestRequest(
                groups=groups,
                picture_template=picture_template,
                external_key_slot=external_key_slot,
                shops_file=shops_file,
                map_shop=map_shop,
                output=output,
                raw=csv_raw,
                concurrency=concurrency,
            ),
        )
    for name, value in (
        ("--picture-template", picture_template),
        ("--external-key-slot", external_key_slot),
        ("--shops", shops_file),
        ("--map-shop", map_shop),
    ):
        if value:
            raise click.UsageError(f"{name} only applies to --format manifest")
    if state.json_mode and output == "-":
        raise click.UsageError(
            "--json prints a summary on stdout, where the export goes too: "
            "give --output PATH with --json, or leave --json out"
        )
    if csv_raw and fmt != "csv":
        raise click.UsageError("--csv-raw only applies to --format csv or manifest")
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
        if groups:
            group_ids = [(await resolve_group(client, g)).group_id for g in groups]
        else:
            group_ids = [g.group_id for g in await client.groups.list()]
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
