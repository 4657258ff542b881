"""``sunmi-face groups list|show|create|update|delete``.

A group is named on the command line by its id or its name (names are unique in a store).
"""

from __future__ import annotations

import shlex

import click

from ..errors import GroupNotEmptyError
from ..models import CUSTOM_SLOTS, FaceGroup, GroupType
from ._app import cli, output_options
from ._exits import EXIT_FAILED, CliError
from ._runtime import State, pass_state, resolve_group, run_async

__all__ = ["groups"]

_TYPES = {t.name.lower(): t for t in GroupType}


@cli.group()
def groups() -> None:
    """List, show, create, update and delete face groups."""


@groups.command("list")
@output_options
@pass_state
def list_groups(state: State) -> None:
    """List the store's groups.

    \b
    Example:
      sunmi-face groups list --json
    """

    async def body() -> list[FaceGroup]:
        async with state.client() as client:
            return await client.groups.list()

    state.output.groups(run_async(body))


@groups.command("show")
@click.argument("group")
@output_options
@pass_state
def show_group(state: State, group: str) -> None:
    """Show one group (GROUP is an id or a name).

    \b
    Example:
      sunmi-face groups show regular
    """

    async def body() -> FaceGroup:
        async with state.client() as client:
            found = await resolve_group(client, group)
            return await client.groups.get(found.group_id)

    state.output.record(run_async(body))


def _keys(keys: tuple[str, ...]) -> list[str] | None:
    if not keys:
        return None
    if len(keys) > CUSTOM_SLOTS:
        raise click.BadParameter(f"at most {CUSTOM_SLOTS} custom keys", param_hint="--key")
    return list(keys)


@groups.command("create")
@click.argument("name")
@click.option(
    "--type", "type_name", type=click.Choice(sorted(_TYPES)), default="custom", show_default=True
)
@click.option("--capacity", type=click.IntRange(min=1), help="Maximum number of faces.")
@click.option("--description", help="Free text (the cloud allows 50 characters).")
@click.option(
    "--key", "keys", multiple=True, help=f"A custom field name (repeat, up to {CUSTOM_SLOTS})."
)
@output_options
@pass_state
def create_group(
    state: State,
    name: str,
    type_name: str,
    capacity: int | None,
    description: str | None,
    keys: tuple[str, ...],
) -> None:
    """Create a group and print its id.

    \b
    Example:
      sunmi-face groups create VIP --capacity 1000 --key level
    """
    customer_keys = _keys(keys)

    async def body() -> FaceGroup:
        async with state.client() as client:
            return await client.groups.create(
                name,
                type=_TYPES[type_name],
                capacity=capacity,
                description=description,
                customer_keys=customer_keys,
            )

    created = run_async(body)
    state.output.done(
        f"created group {created.name} ({created.group_id})",
        group_id=created.group_id,
        name=created.name,
    )


@groups.command("update", short_help="Change a custom group.")
@click.argument("group")
@click.option("--name", help="New name.")
@click.option("--capacity", type=click.IntRange(min=1), help="New capacity.")
@click.option("--description", help="New description.")
@click.option(
    "--key", "keys", multiple=True, help=f"Custom field names (repeat, up to {CUSTOM_SLOTS})."
)
@output_options
@pass_state
def update_group(
    state: State,
    group: str,
    name: str | None,
    capacity: int | None,
    description: str | None,
    keys: tuple[str, ...],
) -> None:
    """Change a custom group's name, capacity, description or custom keys.

    \b
    Example:
      sunmi-face groups update VIP --name "VIP gold" --capacity 2000
    """
    customer_keys = _keys(keys)
    if name is None and capacity is None and description is None and customer_keys is None:
        raise click.UsageError("nothing to change: give --name, --capacity, --description or --key")

    async def body() -> FaceGroup:
        async with state.client() as client:
            found = await resolve_group(client, group)
            await client.groups.update(
                found.group_id,
                name=name,
                capacity=capacity,
                description=description,
                customer_keys=customer_keys,
            )
            return found

    found = run_async(body)
    state.output.done(f"updated group {found.group_id}", group_id=found.group_id)


@groups.command("delete")
@click.argument("group")
@output_options
@pass_state
def delete_group(state: State, group: str) -> None:
    """Delete an empty custom group.

    \b
    Example:
      sunmi-face groups delete VIP
    """

    async def body() -> FaceGroup:
        async with state.client() as client:
            found = await resolve_group(client, group)
            try:
                await client.groups.delete(found.group_id)
            except GroupNotEmptyError:
                raise CliError(_not_empty(found), EXIT_FAILED) from None
            return found

    found = run_async(body)
    state.output.done(f"deleted group {found.name} ({found.group_id})", group_id=found.group_id)


def _not_empty(group: FaceGroup) -> str:
    """What to do about a group that cannot be deleted because it still holds faces."""
    ref = group.name if group.name.isprintable() and group.name else group.group_id
    quoted = shlex.quote(ref)
    held = f"{group.count} faces" if group.count is not None else "faces"
    return (
        f"group {ref!r} still holds {held}, and only an empty group can be deleted: delete them "
        f"first with `sunmi-face faces delete --group {quoted} --all` (or move them with "
        f"`sunmi-face faces move --from {quoted} --to OTHER --all`), then delete the group"
    )
