"""``sunmi-face export --format manifest``: faces written as the manifest ``enroll`` reads.

The configured store, or every store of a ``--shops`` file (one ``sunmi_shop_no`` a line),
each through a ``with_shop`` client over the same connections. Rows name their store and
their group by name; ``--map-shop OLD=NEW`` writes another store number in their place, so
the manifest enrolls into the store a migration moves to. The file is whole or absent.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack, aclosing
from pathlib import Path
from typing import Any, TextIO

import attrs
import click

from ._bulkutil import progress_for
from ._exits import EXIT_OK, EXIT_USAGE, CliError
from ._runtime import State, resolve_group, run_async

__all__ = ["ManifestRequest", "export_manifest", "read_shops"]


@attrs.frozen
class ManifestRequest:
    """What ``export --format manifest`` was asked for."""

    groups: tuple[str, ...]
    picture_template: str | None
    external_key_slot: int | None
    shops_file: Path | None
    map_shop: tuple[str, ...]
    output: str
    raw: bool
    concurrency: int


def read_shops(path: Path) -> list[str]:
    """The store numbers of a ``--shops`` file: one a line; blank lines and ``#`` comments
    are skipped; a number twice, or one holding spaces, is an error naming file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CliError(f"{path}: not UTF-8 text ({exc.reason})", EXIT_USAGE) from None
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}", EXIT_USAGE) from None
    shops: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        shop = line.strip()
        if not shop or shop.startswith("#"):
            continue
        if any(c.isspace() for c in shop) or not shop.isprintable():
            raise CliError(f"{path}:{number}: {shop!r} is not one sunmi_shop_no", EXIT_USAGE)
        if shop in shops:
            raise CliError(f"{path}:{number}: {shop!r} is listed twice", EXIT_USAGE)
        shops.append(shop)
    if not shops:
        raise CliError(f"{path}: lists no store", EXIT_USAGE)
    return shops


def _mapping(pairs: tuple[str, ...], shops: list[str]) -> dict[str, str]:
    mapped: dict[str, str] = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise click.BadParameter(f"{pair!r} is not OLD=NEW", param_hint="--map-shop")
        if old.strip() not in shops:
            raise click.BadParameter(
                f"{old.strip()!r} is not a store this export reads ({', '.join(shops)})",
                param_hint="--map-shop",
            )
        old, new = old.strip(), new.strip()
        if any(c.isspace() for c in new) or not new.isprintable():
            raise click.BadParameter(f"{new!r} is not one sunmi_shop_no", param_hint="--map-shop")
        if mapped.get(old, new) != new:
            raise click.BadParameter(
                f"{old!r} is mapped twice (to {mapped[old]!r} and to {new!r})",
                param_hint="--map-shop",
            )
        mapped[old] = new
    return mapped


def export_manifest(state: State, request: ManifestRequest) -> int:
    """Run ``export --format manifest`` and print its summary."""
    from ..bulk import check_picture_template

    if request.picture_template is None:
        raise click.UsageError(
            "--format manifest needs --picture-template: the API never returns pictures, so "
            "say where each face's picture is in your archive, e.g. 'pics/{external_key}.jpg'"
        )
    try:
        check_picture_template(request.picture_template)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--picture-template") from None
    if state.json_mode and request.output == "-":
        raise click.UsageError("--json prints a summary on stdout: give --output PATH with it")
    shops = read_shops(request.shops_file) if request.shops_file is not None else None
    from ..bulk.export import open_atomic

    with ExitStack() as stack:
        if request.output == "-":
            dest: TextIO = sys.stdout
        else:
            try:
                dest = stack.enter_context(open_atomic(request.output))
            except OSError as exc:
                raise CliError(f"cannot write {request.output}: {exc.strerror or exc}") from None
        counts = run_async(lambda: _export(state, request, shops, dest))
    total = sum(counts.values())
    if state.json_mode:
        state.output.json(
            {"exported": total, "by_store": counts, "output": request.output, "format": "manifest"}
        )
    else:
        where = "stdout" if request.output == "-" else request.output
        stores = ", ".join(f"{shop} {n}" for shop, n in counts.items())
        state.output.info(f"exported {total} faces to {where} as a manifest ({stores})")
    return EXIT_OK


async def _export(
    state: State, request: ManifestRequest, shops: list[str] | None, dest: TextIO
) -> dict[str, int]:
    from ..bulk import ManifestWriter, export_faces

    jsonl = request.output.lower().endswith((".jsonl", ".ndjson"))
    assert request.picture_template is not None
    counts: dict[str, int] = {}
    async with state.client(max_connections=request.concurrency) as client:
        own = client.shop.get("sunmi_shop_no", "")
        stores = shops if shops is not None else [own]
        mapped = _mapping(request.map_shop, stores)
        writer = ManifestWriter(
            dest,
            picture_template=request.picture_template,
            external_key_slot=request.external_key_slot,
            jsonl=jsonl,
            raw=request.raw,
        )
        with progress_for(state, "export") as display:
            for shop in stores:
                shop_client = client if shop == own else client.with_shop(sunmi_shop_no=shop)
                names = await _groups(shop_client, request.groups, shop)
                before = writer.count
                async with aclosing(
                    export_faces(
                        shop_client,
                        list(names),
                        concurrency=request.concurrency,
                        on_progress=display.update,
                    )
                ) as faces:
                    async for face in faces:
                        try:
                            writer.write(
                                face,
                                sunmi_shop_no=mapped.get(shop, shop),
                                group=names.get(face.group_id or "", face.group_name),
                            )
                        except ValueError as exc:
                            where = f"store {shop}: " if shop else ""
                            raise CliError(f"{where}{exc}", EXIT_USAGE) from None
                counts[shop] = writer.count - before
    return counts


async def _groups(client: Any, wanted: tuple[str, ...], shop: str) -> dict[str, str]:
    """The groups to export (id -> name): those named, or every group of the store."""
    if not wanted:
        return {g.group_id: g.name for g in await client.groups.list()}
    found: dict[str, str] = {}
    for ref in wanted:
        try:
            group = await resolve_group(client, ref)
        except CliError as exc:
            raise CliError(f"store {shop}: {exc}" if shop else str(exc), EXIT_USAGE) from None
        found[group.group_id] = group.name
    return found
