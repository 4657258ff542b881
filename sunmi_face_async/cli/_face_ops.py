"""``sunmi-face faces delete|move``: any number of face ids, chunked, with progress."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from ._app import output_options
from ._bulkutil import exit_code_for, progress_for, read_ids, show_failures
from ._faces import faces
from ._runtime import State, pass_state, resolve_group, run_async

if TYPE_CHECKING:
    from ..bulk import ItemResult

__all__ = ["delete_command", "move_command"]


def _ids_or_all(ids: list[str], all_faces: bool) -> None:
    if not ids and not all_faces:
        raise click.UsageError("give face ids, --ids-file PATH or --all")
    if ids and all_faces:
        raise click.UsageError("give face ids or --all, not both")


def _finish(state: State, verb: str, where: str, results: Sequence[ItemResult]) -> int:
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
        show_failures(state, failures, len(failures))
        tail = f"; {len(failures)} failed" if failures else ""
        state.output.stdout.print(f"{verb} {done} of {len(results)} faces {where}{tail}")
    return exit_code_for(len(failures))


@faces.command("delete")
@click.argument("face_ids", nargs=-1)
@click.option("--group", "-g", "group", required=True, help="The faces' group (id or name).")
@click.option("--ids-file", metavar="PATH", help="More face ids, one per line ('-' = stdin).")
@click.option("--all", "all_faces", is_flag=True, help="Delete every face of the group.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=8, show_default=True)
@output_options
@pass_state
def delete_command(
    state: State,
    face_ids: tuple[str, ...],
    group: str,
    ids_file: str | None,
    all_faces: bool,
    concurrency: int,
) -> int:
    """Delete faces from a group (in chunks of 100 ids).

    Example: sunmi-face faces delete --group VIP 578968751459 578968751460
    """
    ids = read_ids(face_ids, ids_file)
    _ids_or_all(ids, all_faces)
    state.interrupt_hint = (
        "faces deleted so far stay deleted; run the same command again to delete the rest"
    )

    async def body() -> tuple[str, list[ItemResult]]:
        from ..bulk import delete_faces, export_faces

        async with state.client(max_connections=concurrency) as client:
            found = await resolve_group(client, group)
            todo = ids or [f.face_id async for f in export_faces(client, [found.group_id])]
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

    Example: sunmi-face faces move --from Strangers --to VIP 578968751459
    """
    ids = read_ids(face_ids, ids_file)
    _ids_or_all(ids, all_faces)
    state.interrupt_hint = (
        "faces moved so far stay moved; run the same command again to move the rest"
    )

    async def body() -> tuple[str, list[ItemResult]]:
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
            return f"from {src.name} to {dst.name}", results

    where, results = run_async(body)
    return _finish(state, "moved", where, results)
