"""``sunmi-face faces delete|move``: any number of face ids, chunked, with progress."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from ._app import output_options
from ._bulkutil import exit_code_for, progress_for, read_ids, show_failures
from ._exits import EXIT_FAILED, CliError
from ._faces import faces
from ._runtime import State, pass_state, resolve_group, run_async
from ._safe import safe_text

if TYPE_CHECKING:
    from ..bulk import ItemResult
    from ..models import FaceGroup

__all__ = ["delete_command", "move_command"]


def _ids_or_all(ids: list[str], all_faces: bool) -> None:
    if not ids and not all_faces:
        raise click.UsageError("give face ids, --ids-file PATH or --all")
    if ids and all_faces:
        raise click.UsageError("give face ids or --all, not both")


def _finish(
    state: State,
    verb: str,
    where: str,
    results: Sequence[ItemResult],
    target: FaceGroup | None = None,
) -> int:
    failures = [(r.key, r.error or r.outcome.value) for r in results if not r.ok]
    done = len(results) - len(failures)
    if state.json_mode:
        state.output.json(
            {
                "done": done,
                "failed": len(failures),
                "failures": [{"face_id": k, "reason": why} for k, why in failures],
            }
        )
    else:
        _show_grouped(state, failures, target)
        tail = f"; {len(failures)} failed" if failures else ""
        state.output.result(f"{verb} {done} of {len(results)} faces {where}{tail}")
    return exit_code_for(len(failures))


def _show_grouped(
    state: State, failures: Sequence[tuple[str, str]], target: FaceGroup | None
) -> None:
    """One line per face for reasons of their own; one line per reason many faces share.

    A full target group fails every face after it the same way: that is one line with the
    count and the fix, not one line per face.
    """
    by_reason: dict[str, list[str]] = {}
    for face_id, reason in failures:
        by_reason.setdefault(reason, []).append(face_id)
    single = [(ids[0], reason) for reason, ids in by_reason.items() if len(ids) < _SHARED]
    show_failures(state, single, len(single))
    for reason, ids in by_reason.items():
        if len(ids) < _SHARED:
            continue
        first = ", ".join(ids[:3])
        state.output.info(f"failed: {len(ids)} faces ({first}, ...): {reason}")
        if _FULL in reason and target is not None:
            state.output.info(_room_hint(target, len(ids)))
    if any(len(ids) >= _SHARED for ids in by_reason.values()):
        state.output.info("--json lists every face id with its reason")


_SHARED = 3  # this many faces failing for the same reason are reported on one line
_FULL = "code 5520:"  # the group is full (or the store's face limit is reached)


def _room_hint(target: FaceGroup, not_done: int) -> str:
    ref = target.name if target.name.isprintable() and target.name else target.group_id
    if target.capacity is not None and target.count is not None:
        needed = f"{target.count + not_done}"
        now = f" (it holds {target.count} of {target.capacity})"
    else:
        needed, now = "N", ""
    return (
        f"the group {ref!r} is full{now}: the {not_done} faces were not moved; make room with "
        f"`sunmi-face groups update {shlex.quote(ref)} --capacity {needed}` and run the same "
        "command again"
    )


@faces.command("delete")
@click.argument("face_ids", nargs=-1)
@click.option("--group", "-g", "group", required=True, help="The faces' group (id or name).")
@click.option("--ids-file", metavar="PATH", help="More face ids, one per line ('-' = stdin).")
@click.option("--all", "all_faces", is_flag=True, help="Delete every face of the group.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before deleting with --all.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=8, show_default=True)
@output_options
@pass_state
def delete_command(
    state: State,
    face_ids: tuple[str, ...],
    group: str,
    ids_file: str | None,
    all_faces: bool,
    yes: bool,
    concurrency: int,
) -> int:
    """Delete faces from a group (in chunks of 100 ids).

    With --all it first asks, showing how many faces will go; without a terminal to ask on
    it needs --yes.

    \b
    Examples:
      sunmi-face faces delete --group regular 578968751459 578968751460
      sunmi-face faces delete --group regular --all --yes
    """
    ids = read_ids(face_ids, ids_file)
    _ids_or_all(ids, all_faces)
    if all_faces and not yes and not sys.stdin.isatty():
        raise CliError(
            "faces delete --all deletes every face of the group and there is no terminal to "
            "ask for confirmation on: add --yes to delete without asking"
        )
    state.interrupt_hint = (
        "faces deleted so far stay deleted; run the same command again to delete the rest"
    )

    async def body() -> tuple[str, list[ItemResult]]:
        from ..bulk import delete_faces, export_faces

        async with state.client(max_connections=concurrency) as client:
            found = await resolve_group(client, group)
            todo = ids or [f.face_id async for f in export_faces(client, [found.group_id])]
            if all_faces and not yes and todo:
                _confirm_delete(found, len(todo))
            with progress_for(state, "delete") as display:
                results = await delete_faces(
                    client,
                    found.group_id,
                    todo,
                    concurrency=concurrency,
                    on_progress=display.update,
                )
            return found.name, results

    name, results = run_async(body)
    return _finish(state, "deleted", f"from {name}", results)


def _confirm_delete(group: FaceGroup, count: int) -> None:
    """Ask on the terminal; anything but yes deletes nothing (exit 1)."""
    question = safe_text(f"Delete all {count} faces of group {group.name!r} ({group.group_id})?")
    if not click.confirm(question, default=False, err=True):
        raise CliError("nothing deleted (not confirmed)", EXIT_FAILED)


@faces.command("move")
@click.argument("face_ids", nargs=-1)
@click.option("--from", "source", required=True, help="Source group (id or name).")
@click.option("--to", "target", required=True, help="Target group (id or name).")
@click.option("--ids-file", metavar="PATH", help="More face ids, one per line ('-' = stdin).")
@click.option("--all", "all_faces", is_flag=True, help="Move every face of the source group.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=8, show_default=True)
@output_options
@pass_state
def move_command(
    state: State,
    face_ids: tuple[str, ...],
    source: str,
    target: str,
    ids_file: str | None,
    all_faces: bool,
    concurrency: int,
) -> int:
    """Move faces from one group to another (in chunks of 100 ids).

    \b
    Example:
      sunmi-face faces move --from stranger --to regular 578968751459
    """
    ids = read_ids(face_ids, ids_file)
    _ids_or_all(ids, all_faces)
    state.interrupt_hint = (
        "faces moved so far stay moved; run the same command again to move the rest"
    )

    async def body() -> tuple[str, list[ItemResult], FaceGroup]:
        from ..bulk import export_faces, move_faces

        async with state.client(max_connections=concurrency) as client:
            src = await resolve_group(client, source)
            dst = await resolve_group(client, target)
            if src.group_id == dst.group_id:
                raise click.UsageError("--from and --to name the same group")
            todo = ids or [f.face_id async for f in export_faces(client, [src.group_id])]
            with progress_for(state, "move") as display:
                results = await move_faces(
                    client,
                    src.group_id,
                    dst.group_id,
                    todo,
                    concurrency=concurrency,
                    on_progress=display.update,
                )
            return f"from {src.name} to {dst.name}", results, await client.groups.get(dst.group_id)

    where, results, dst = run_async(body)
    return _finish(state, "moved", where, results, dst)
