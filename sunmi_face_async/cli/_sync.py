"""``sunmi-face sync MANIFEST --external-key-slot N``: make groups match a manifest.

The sync journal (on by default, ``.sunmi-face/sync-MANIFEST-GROUP.sqlite``) is the job's
state across runs: the picture hashes sync uploaded and its actions in flight. Every run of
the job reuses it; ``--resume`` insists that it exists. ``--plan`` sends no write and prints
what a run would do, and the command that does it.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import click

from ..models import CUSTOM_SLOTS
from ._app import cli, output_options
from ._bulkutil import exit_code_for
from ._enroll import JOURNAL_DIR
from ._exits import CliError
from ._resume import fingerprint, global_flags, journal_problem, mismatch_message
from ._runtime import State, pass_state, resolve_group, run_async
from ._shard import resolve_shard, shard_options

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..bulk import FaceUpload, ManifestError, SyncReport

__all__ = ["sync_command"]

_MAX_LINES = 50


def default_journal(source: Path, group_id: str | None, shard: tuple[int, int] | None) -> Path:
    """``.sunmi-face/sync-<manifest>-<group>[-shard-K-of-N].sqlite``: one per shard, since a
    journal belongs to one process."""
    stem = _plain_name(source.resolve().name or "manifest")
    part = f"-shard-{shard[0]}-of-{shard[1]}" if shard else ""
    # The group id comes from the server: it must not steer the file out of its folder.
    group = _plain_name(group_id) if group_id else "manifest"
    return JOURNAL_DIR / f"sync-{stem}-{group}{part}.sqlite"


def _plain_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text) or "_"


def _entries(source: Path, group_id: str | None) -> Iterator[FaceUpload | ManifestError]:
    from ..bulk import FaceUpload, read_manifest

    if source.is_dir() and group_id is None:
        raise click.UsageError("syncing a directory needs --group")
    if not source.is_dir() and source.suffix.lower() not in (".csv", ".jsonl", ".ndjson"):
        raise CliError(f"{source}: use a directory of pictures, a .csv or a .jsonl manifest")
    entries = read_manifest(source, group_id=group_id)
    if not source.is_dir():
        return entries
    # A picture's file name is its external key.
    return (
        attrs.evolve(e, external_key=e.name) if isinstance(e, FaceUpload) and e.name else e
        for e in entries
    )


@attrs.frozen
class _Command:
    """The job's settings, to print the commands that run it (as typed, complete)."""

    source: Path
    group: str | None
    slot: int
    prune: bool
    replace_pictures: bool
    shard: tuple[int, int] | None
    concurrency: int
    journal: Path
    per_store_concurrency: int | None = None

    def argv(self, state: State, *, plan: bool = False, resume: bool = False) -> str:
        args = ["sunmi-face", *global_flags(state.flags), "sync", os.path.abspath(self.source)]
        if self.group is not None:
            args += ["--group", self.group]
        args += ["--external-key-slot", str(self.slot)]
        args += ["--prune"] if self.prune else []
        args += ["--replace-pictures"] if self.replace_pictures else []
        if self.shard is not None:
            args += ["--shard", f"{self.shard[0]}/{self.shard[1]}"]
        args += ["--concurrency", str(self.concurrency)]
        if self.per_store_concurrency is not None:
            args += ["--per-store-concurrency", str(self.per_store_concurrency)]
        args += ["--journal", os.path.abspath(self.journal)]
        args += ["--resume"] if resume else []
        args += ["--plan"] if plan else []
        return shlex.join(args)


@cli.command("sync", short_help="Make groups match a manifest, by external key.")
@click.argument("manifest", type=click.Path(exists=True, path_type=Path))
@click.option("--group", "-g", help="Target group (id or name); rows may name their own.")
@click.option(
    "--external-key-slot",
    type=click.IntRange(1, CUSTOM_SLOTS),
    required=True,
    help="Custom value slot holding each face's external key.",
)
@click.option("--prune", is_flag=True, help="Delete faces of the target groups not in MANIFEST.")
@click.option(
    "--replace-pictures",
    is_flag=True,
    help="Replace faces whose picture sync never uploaded (default: taken as unchanged).",
)
@click.option("--plan", "plan_only", is_flag=True, help="Change nothing; print the plan.")
@click.option(
    "--journal",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Sync journal [default: .sunmi-face/sync-MANIFEST-GROUP.sqlite].",
)
@click.option("--resume", is_flag=True, help="Insist on the journal of an earlier run.")
@shard_options
@click.option("--concurrency", type=click.IntRange(1, 256), default=16, show_default=True)
@click.option(
    "--per-store-concurrency",
    type=click.IntRange(1, 256),
    help="Rows naming their store (sunmi_shop_no): at most this many requests of one store.",
)
@output_options
@pass_state
def sync_command(
    state: State,
    manifest: Path,
    group: str | None,
    external_key_slot: int,
    prune: bool,
    replace_pictures: bool,
    plan_only: bool,
    journal: Path | None,
    resume: bool,
    shard: str | None,
    shards: int | None,
    concurrency: int,
    per_store_concurrency: int | None,
) -> int:
    """Make the store's groups match MANIFEST (a folder, a .csv or a .jsonl), by external key.

    Adds missing faces, updates names, gender, age range and custom values, moves faces from
    other groups of the store, replaces faces whose picture changed since sync uploaded it
    (new face first, then the old one deleted), and with --prune deletes faces of the target
    groups whose key MANIFEST does not hold (and extra faces sharing a key). Running it
    again right after changes nothing and sends no write. Rows naming their store
    (sunmi_shop_no, with the group by name) sync each store of a chain in one job.

    \b
    Examples:
      sunmi-face sync faces.csv --group VIP --external-key-slot 5 --plan
      sunmi-face sync faces.csv --group VIP --external-key-slot 5 --prune
      sunmi-face sync faces.jsonl --external-key-slot 5 --shard 0/4
      sunmi-face sync faces.jsonl --external-key-slot 5 --shard auto --shards 4
    """
    # auto is resolved here: the journal, its file name and printed commands say K/N.
    env = state.env if state.env is not None else os.environ
    shard_spec = resolve_shard(shard, shards=shards, env=env)
    source = str(manifest.resolve())
    digest = fingerprint(manifest)  # a --resume refuses a manifest changed since the last run

    async def body() -> tuple[SyncReport, _Command]:
        from ..bulk import sync
        from ..bulk.journal import JournalError, JournalMismatchError

        async with state.client(max_connections=concurrency) as client:
            group_id = (await resolve_group(client, group)).group_id if group else None
            path = journal or default_journal(manifest, group_id, shard_spec)
            if resume and not path.exists():
                raise CliError(f"--resume: no sync journal at {path}")
            if not plan_only:  # a plan writes nothing, not even the journal's folder
                path.parent.mkdir(parents=True, exist_ok=True)
            command = _Command(
                manifest, group_id, external_key_slot, prune, replace_pictures,
                shard_spec, concurrency, path, per_store_concurrency,
            )  # fmt: skip
            again = command.argv(state, resume=True)
            if not plan_only:
                # --resume only when the journal exists already: a run stopped before it
                # was created is run again afresh, and either command reuses the journal.
                rerun = again if path.exists() else command.argv(state)
                state.interrupt_hint = (
                    f"the sync journal records the actions in flight; run again with:\n  {rerun}"
                )
            try:
                report = await sync(
                    client,
                    _entries(manifest, group_id),
                    external_key_slot=external_key_slot,
                    prune=prune,
                    replace_pictures=replace_pictures,
                    plan_only=plan_only,
                    groups=[group_id] if group_id else [],
                    journal=path,
                    resume=True if resume else None,
                    shard=shard_spec,
                    concurrency=concurrency,
                    per_store_concurrency=per_store_concurrency,
                    job={"source": source, "group": group_id},
                    run_settings={"manifest": digest},
                    max_listed=None,
                    on_event=lambda event: state.output.info(f"sync: {event.detail}"),
                )
            except JournalMismatchError as exc:
                raise CliError(_mismatch(path, exc.differences, manifest)) from None
            except JournalError as exc:
                raise CliError(journal_problem(exc, again)) from None
            return report, command

    report, command = run_async(body)
    return _show(state, report, command)


_RUN_FLAGS = {"prune": "--prune", "replace_pictures": "--replace-pictures", "manifest": ""}


def _mismatch(path: Path, differences: list[tuple[str, Any, Any]], path_of_source: Path) -> str:
    """Another job's journal, or (on --resume) flags that differ from the run it finishes."""
    if not differences or any(name not in _RUN_FLAGS for name, _, _ in differences):
        return mismatch_message(path, differences, None)
    said = "; ".join(
        f"MANIFEST {path_of_source} has changed since that run"
        if name == "manifest"
        else f"{_RUN_FLAGS[name]} is {'set' if now else 'not set'} here but was"
        f"{'' if then else ' not'} in that run"
        for name, then, now in differences
    )
    return (
        f"--resume finishes the journal's last run as it ran: {said}; run without --resume"
        " to sync with this run's flags"
    )


def _show(state: State, report: SyncReport, command: _Command) -> int:
    out = state.output
    if state.json_mode:
        out.json(report.plan_dict() if report.plan_only else report.as_dict())
    else:
        counts = ", ".join(f"{k} {v}" for k, v in report.counts.items())
        out.result(f"{'plan' if report.plan_only else 'synced'}: {counts}")
        chain = any(report.by_store)  # the manifest names another store than the client's
        for shop, tally in report.by_store.items() if chain else ():
            out.result(f"  store {shop or '(the client)'}: {_tally(tally)}")
        rows = [_row(item.as_dict(), chain) for item in report.items[:_MAX_LINES]]
        if rows:
            head = ("action", "key", "group", "line", "face id", "details")
            out.table(("store", *head) if chain else head, rows)
        if len(report.items) > _MAX_LINES:
            out.info(f"… and {len(report.items) - _MAX_LINES} more items (see --json)")
    for item in report.items:
        if item.error is None:
            continue
        said = item.outcome.value if item.outcome is not None else item.action.value
        if item.key.startswith("line:"):  # an unreadable row: the error names file and line
            out.info(f"{said}: {item.error}")
        else:
            where = f"{command.source}:{item.line}: " if item.line is not None else ""
            out.info(f"{said}: {where}{item.key}: {item.error}")
    if report.plan_only:
        if report.changes:
            out.info(f"to apply this plan run: {command.argv(state)}")
        return exit_code_for(report.invalid + report.unplanned)
    if report.writes:
        sent = ", ".join(f"{k} {v}" for k, v in sorted(report.writes.items()))
        out.info(f"write requests: {sent}; listing pages: {report.pages}")
    unfinished = report.outcomes["failed"] + report.outcomes["unknown"]
    if unfinished or report.cancelled:
        out.info(f"to finish the job run: {command.argv(state, resume=True)}")
    elif report.invalid:
        out.info(f"fix the invalid rows, then run: {command.argv(state)}")
    return exit_code_for(0 if report.ok else 1)


def _tally(tally: dict[str, Any]) -> str:
    """One store's counts (those not zero) and outcomes, for the summary."""
    said = [f"{k} {v}" for k, v in tally.items() if isinstance(v, int) and v and k != "pages"]
    said += [f"{k} {v}" for k, v in sorted(tally["outcomes"].items())]
    return ", ".join(said) or "nothing"


def _row(item: dict[str, Any], chain: bool = False) -> list[str]:
    details = ", ".join(item.get("changes", []))
    if "from_group" in item:
        details = f"from group {item['from_group']}" + (f"; {details}" if details else "")
    if "outcome" in item:
        details = f"{item['outcome']}" + (f"; {details}" if details else "")
    line = "" if item["line"] is None else str(item["line"])
    face = item.get("face_id") or item.get("new_face_id", "")
    if "new_face_id" in item and "face_id" in item:  # a replace: the old face, then the new
        face = f"{item['face_id']} -> {item['new_face_id']}"
    row = [item["action"], item["key"], str(item["group"] or ""), line, face, details]
    return [str(item.get("sunmi_shop_no") or ""), *row] if chain else row
