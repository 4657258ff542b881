"""``sunmi-face faces list|show|add|update`` (one face at a time; see ``_face_ops`` for bulk)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..models import CUSTOM_SLOTS, AgeRange, Face, Gender
from ._app import cli, output_options
from ._runtime import State, pass_state, resolve_group, run_async

__all__ = ["AGE_CHOICES", "GENDER_CHOICES", "faces", "parse_age", "parse_gender"]

GENDER_CHOICES = {"unknown": Gender.UNKNOWN, "male": Gender.MALE, "female": Gender.FEMALE}
AGE_CHOICES = {
    "0-6": AgeRange.AGE_0_6,
    "7-12": AgeRange.AGE_7_12,
    "13-18": AgeRange.AGE_13_18,
    "19-28": AgeRange.AGE_19_28,
    "29-35": AgeRange.AGE_29_35,
    "36-45": AgeRange.AGE_36_45,
    "46-55": AgeRange.AGE_46_55,
    "56+": AgeRange.AGE_56_PLUS,
}


def parse_gender(value: str | None) -> Gender | None:
    return None if value is None else GENDER_CHOICES[value]


def parse_age(value: str | None) -> AgeRange | None:
    return None if value is None else AGE_CHOICES[value]


def _values(values: tuple[str, ...]) -> list[str] | None:
    if not values:
        return None
    if len(values) > CUSTOM_SLOTS:
        raise click.BadParameter(f"at most {CUSTOM_SLOTS} custom values", param_hint="--value")
    return list(values)


def face_fields(command: Callable[..., Any]) -> Callable[..., Any]:
    """The optional descriptive fields shared by ``faces add`` and ``faces update``."""
    for option in reversed(
        [
            click.option("--name", help="The person's name."),
            click.option("--gender", type=click.Choice(list(GENDER_CHOICES))),
            click.option("--age", type=click.Choice(list(AGE_CHOICES)), help="Age range."),
            click.option(
                "--value",
                "values",
                multiple=True,
                help=f"Custom field values in slot order (repeat, up to {CUSTOM_SLOTS}).",
            ),
        ]
    ):
        command = option(command)
    return command


@cli.group()
def faces() -> None:
    """List, show, add, update, delete and move faces."""


@faces.command("list")
@click.option("--group", "-g", "group", required=True, help="Group id or name.")
@click.option(
    "--limit", type=click.IntRange(min=0), default=50, show_default=True, help="0 = all faces."
)
@output_options
@pass_state
def list_faces(state: State, group: str, limit: int) -> None:
    """List the faces of a group (for large groups prefer `export`).

    \b
    Example:
      sunmi-face faces list --group regular --limit 20
    """

    async def body() -> tuple[list[Face], int | None]:
        async with state.client() as client:
            found = await resolve_group(client, group)
            listed: list[Face] = []
            async for face in client.groups.iter_faces(found.group_id):
                if limit and len(listed) >= limit:
                    break
                listed.append(face)
            return listed, found.count

    listed, count = run_async(body)
    shown = f"{len(listed)} of {count} faces" if count is not None else f"{len(listed)} faces"
    state.output.faces(listed, title=f"{group}: {shown}")


@faces.command("show")
@click.argument("face_id")
@output_options
@pass_state
def show_face(state: State, face_id: str) -> None:
    """Show one face.

    \b
    Example:
      sunmi-face faces show 578968751459
    """

    async def body() -> Face:
        async with state.client() as client:
            return await client.faces.get(face_id)

    state.output.record(run_async(body))


@faces.command("add", short_help="Upload one picture into a group.")
@click.argument("picture", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--group", "-g", "group", required=True, help="Group id or name.")
@face_fields
@output_options
@pass_state
def add_face(
    state: State,
    picture: Path,
    group: str,
    name: str | None,
    gender: str | None,
    age: str | None,
    values: tuple[str, ...],
) -> None:
    """Upload one picture (JPEG, PNG or BMP, at most 1 MB) into a group; print the face id.

    \b
    Example:
      sunmi-face faces add mike.jpg --group regular --name Mike --gender male --value gold
    """
    customer_values = _values(values)

    async def body() -> tuple[str, str]:
        async with state.client() as client:
            found = await resolve_group(client, group)
            face_id = await client.faces.add(
                found.group_id,
                pic=picture,
                name=name,
                gender=parse_gender(gender),
                age_range=parse_age(age),
                customer_values=customer_values,
            )
            return face_id, found.group_id

    face_id, group_id = run_async(body)
    state.output.done(f"added face {face_id}", face_id=face_id, group_id=group_id)


@faces.command("update", short_help="Change a face's fields.")
@click.argument("face_id")
@click.option("--group", "-g", "group", required=True, help="The face's group (id or name).")
@face_fields
@output_options
@pass_state
def update_face(
    state: State,
    face_id: str,
    group: str,
    name: str | None,
    gender: str | None,
    age: str | None,
    values: tuple[str, ...],
) -> None:
    """Change a face's name, gender, age range or custom values.

    \b
    Example:
      sunmi-face faces update 578968751459 --group regular --name "Mike Li"
    """
    customer_values = _values(values)
    if name is None and gender is None and age is None and customer_values is None:
        raise click.UsageError("nothing to change: give --name, --gender, --age or --value")

    async def body() -> None:
        async with state.client() as client:
            found = await resolve_group(client, group)
            await client.faces.update(
                found.group_id,
                face_id,
                name=name,
                gender=parse_gender(gender),
                age_range=parse_age(age),
                customer_values=customer_values,
            )

    run_async(body)
    state.output.done(f"updated face {face_id}", face_id=face_id)
