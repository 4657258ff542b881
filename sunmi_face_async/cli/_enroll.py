"""``sunmi-face enroll SOURCE --group G``: upload a folder, a CSV or a JSONL manifest.

The journal (SQLite, on by default) makes the job resumable and duplicate-free: after a
Ctrl-C, a crash or failures, the same command with ``--resume`` skips what is done and
reconciles what was in flight.
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import click

from ..models import CUSTOM_SLOTS
from ._app import cli, output_options
from ._bulkutil import finite_seconds, progress_for
from ._enroll_report import show_report
from ._exits import CliError
from ._resume import (
    fingerprint,
    global_flags,
    journal_problem,
    mismatch_message,
    open_recorded,
    resume_command,
    settings_for,
    take_back,
)
from ._runtime import State, pass_state, resolve_group, run_async
from ._shard import parse_shard, resolve_shard, shard_options  # parse_shard: for old callers

if TYPE_CHECKING:
    from ..bulk import EnrollReport, FaceUpload, ManifestError

__all__ = ["enroll_command", "parse_shard"]

# Up to this many manifest rows are read ahead so the progress bar knows the total.
_COUNT_AHEAD = 200_000
JOURNAL_DIR = Path(".sunmi-face")


def default_journal(source: Path, group_id: str | None) -> Path:
    """``.sunmi-face/enroll-<source>-<group>.sqlite`` in the current directory."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", source.resolve().name or "source")
    return JOURNAL_DIR / f"enroll-{stem}-{group_id or 'manifest'}.sqlite"


def _check_readable(source: Path) -> None:
    from ..files import NotRegularFile, open_regular

    try:
        if source.is_dir():
            next(iter(source.iterdir()), None)
        else:
            with open_regular(source) as handle:  # a FIFO would block open() for ever
                handle.read(1)
    except NotRegularFile as exc:
        raise CliError(f"{source}: {exc.kind}, not a manifest file") from None
    except OSError as exc:
        raise CliError(f"cannot read {source}: {exc.strerror or exc}") from None


def _entries(
    source: Path, group_id: str | None, external_key_slot: int | None
) -> Iterator[FaceUpload | ManifestError]:
    from ..bulk import FaceUpload, read_manifest

    if source.is_dir() and group_id is None:
        raise click.UsageError("enrolling a directory needs --group")
    if not source.is_dir() and source.suffix.lower() not in (".csv", ".jsonl", ".ndjson"):
        raise CliError(f"{source}: use a directory of pictures, a .csv or a .jsonl manifest")
    entries = read_manifest(source, group_id=group_id)
    if not source.is_dir() or external_key_slot is None:
        return entries
    # A picture's file name is its external key, so unknown outcomes can be reconciled.
    return (
        attrs.evolve(e, external_key=e.name) if isinstance(e, FaceUpload) and e.name else e
        for e in entries
    )


def _counted(entries: Iterator[Any]) -> Iterable[Any]:
    """A list (so the total is known) when the input is small enough, else a stream."""
    ahead = list(itertools.islice(entries, _COUNT_AHEAD + 1))
    if len(ahead) <= _COUNT_AHEAD:
        return ahead
    return itertools.chain(ahead, entries)


@cli.command("enroll", short_help="Upload a folder, CSV or JSONL of pictures.")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--group", "-g", help="Target group (id or name); rows may name their own.")
@click.option("--create-group", is_flag=True, help="Create the --group if it does not exist.")
@click.option("--concurrency", type=click.IntRange(1, 256), default=16, show_default=True)
@click.option(
    "--per-store-concurrency",
    type=click.IntRange(1, 256),
    help="Rows naming their store (sunmi_shop_no): at most this many of one store at once.",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    help="At most this many uploads per second (retries included) over any interval: each "
    "starts at least 1/RATE s after the one before, no burst. Default: no limit.",
)
@click.option(
    "--journal",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Journal file [default: .sunmi-face/enroll-SOURCE-GROUP.sqlite].",
)
@click.option("--no-journal", is_flag=True, help="Run without a journal (not resumable).")
@click.option("--resume", is_flag=True, help="Continue the run recorded in the journal.")
@click.option(
    "--external-key-slot",
    type=click.IntRange(1, CUSTOM_SLOTS),
    help="Custom value slot holding each face's external key (for a folder: the file name).",
)
@shard_options
@click.option("--dry-run", is_flag=True, help="Validate every item and send nothing.")
@click.option(
    "--confirm",
    type=click.Choice(["listing", "push"]),
    help="Confirm accepted uploads at the end: list each group once, or wait for push "
    "callbacks recorded in the journal. Unconfirmed ones never count as done.",
)
@click.option(
    "--confirm-wait",
    type=click.FloatRange(min=0),
    callback=finite_seconds,
    default=30.0,
    show_default=True,
    metavar="S",
    help="listing: seconds after the last accepted upload before listing; push: seconds to "
    "wait for the callbacks.",
)
@click.option(
    "--resend-rejected",
    is_flag=True,
    help="Send again items the platform rejected in an earlier run.",
)
@output_options
@pass_state
def enroll_command(
    state: State,
    source: Path,
    group: str | None,
    create_group: bool,
    concurrency: int,
    per_store_concurrency: int | None,
    rate: float | None,
    journal: Path | None,
    no_journal: bool,
    resume: bool,
    external_key_slot: int | None,
    shard: str | None,
    shards: int | None,
    dry_run: bool,
    confirm: str | None,
    confirm_wait: float,
    resend_rejected: bool,
) -> int:
    """Upload every picture of SOURCE: a folder, a .csv or a .jsonl manifest.

    \b
    Manifest columns: picture (required, relative to the manifest), group_id, name,
    gender (unknown/male/female), age_range (1-8), customer_value1..5, external_key;
    sunmi_shop_no (the row's store) and group (its group by name, looked up in that store).
    \b
    Examples:
      sunmi-face enroll ./photos --group VIP --create-group
      sunmi-face enroll faces.csv --group VIP --external-key-slot 5 --rate 20
      sunmi-face enroll faces.csv --group VIP --dry-run
      sunmi-face enroll ./photos --group VIP --confirm listing --confirm-wait 60
    """
    shard_spec = resolve_shard(
        shard, shards=shards, env=state.env if state.env is not None else os.environ
    )
    shard = None if shard_spec is None else f"{shard_spec[0]}/{shard_spec[1]}"  # as recorded
    if no_journal and (journal is not None or resume):
        raise click.UsageError("--no-journal cannot be combined with --journal or --resume")
    if confirm == "push" and no_journal:
        raise click.UsageError("--confirm push needs the journal: the receiver writes into it")
    if confirm and dry_run:
        raise click.UsageError("--confirm cannot be combined with --dry-run (nothing is sent)")
    _check_readable(source)
    if dry_run:
        report = run_async(lambda: _dry_run(state, source, group, external_key_slot, shard_spec))
        return show_report(state, report, None, dry_run=True)
    given = _given_options(
        shard=shard_spec and f"{shard_spec[0]}/{shard_spec[1]}",
        external_key_slot=external_key_slot,
        rate=rate,
        concurrency=concurrency,
        per_store_concurrency=per_store_concurrency,
    )
    if journal is not None and not resume and not no_journal:
        _journal_path(state, source, None, journal, no_journal, resume)  # refuse early
    if resume and journal is None and group is not None:
        # The default journal of a group given by id (as printed commands give it).
        guess = default_journal(source, group)
        journal = guess if guess.exists() else None
    recorded = open_recorded(journal, group, state.flags) if resume and journal else None
    if recorded is not None:
        state.flags, options = take_back(recorded, state.flags, given)
        shard, external_key_slot = options["shard"], options["external_key_slot"]
        rate, concurrency = options["rate"], options["concurrency"]
        per_store_concurrency = options["per_store_concurrency"]
        shard_spec = parse_shard(shard)
        group = group if group is not None else recorded.group
        create_group = False  # the first run made it
        if recorded.fingerprint and recorded.fingerprint != fingerprint(source):
            state.output.warn(
                f"{source} has changed since the journal was written; items already done "
                "are still skipped, new ones are sent"
            )

    async def body() -> tuple[EnrollReport, Path | None]:
        from ..bulk import enroll
        from ..bulk.journal import JournalError, JournalMismatchError

        async with state.client(max_connections=concurrency) as client:
            group_id = await _target_group(state, client, group, create_group)
            journal_path = _journal_path(state, source, group_id, journal, no_journal, resume)
            settings = settings_for(
                source=source,
                group=group_id,
                create_group=create_group,
                shard=shard,
                rate=rate,
                concurrency=concurrency,
                slot=external_key_slot,
                client=state.settings(),
                per_store_concurrency=per_store_concurrency,
            )
            again = fresh = None
            if journal_path is not None:
                # The journal does not record --confirm: the printed commands repeat it.
                tail = f" --confirm {confirm} --confirm-wait {confirm_wait:g}" if confirm else ""
                again = resume_command(recorded or settings, journal_path, state.flags) + tail
                fresh = resume_command(settings, journal_path, state.flags, resume=False) + tail
                state.interrupt_hint = (
                    f"items in flight are recorded in the journal; resume with:\n  {again}"
                )
            items = _counted(_entries(source, group_id, external_key_slot))
            with progress_for(state, "enroll") as display:
                job = enroll(
                    client,
                    items,
                    concurrency=concurrency,
                    per_store_concurrency=per_store_concurrency,
                    rate=rate,
                    burst=1,  # --rate is a maximum: no burst of --concurrency at the start
                    journal=journal_path,
                    external_key_slot=external_key_slot,
                    shard=shard_spec,
                    on_progress=display.update,
                    resume=True if resume else None,
                    job={"source": settings.source, "group": group_id},
                    job_settings=settings.as_dict(),
                    max_listed=None if state.json_mode else 1000,
                    confirm=confirm,
                    confirm_wait=confirm_wait,
                    resend_rejected=resend_rejected,
                )
                try:
                    report = await job.run()
                except JournalMismatchError as exc:
                    assert journal_path is not None
                    raise CliError(
                        mismatch_message(journal_path, exc.differences, again if recorded else None)
                    ) from None
                except JournalError as exc:
                    raise CliError(journal_problem(exc, again, fresh=fresh)) from None
            return report, journal_path

    report, journal_path = run_async(body)
    check = None
    if journal_path is not None:
        flags = global_flags(state.flags)
        check = shlex.join(["sunmi-face", *flags, "journal", "check", str(journal_path.absolute())])
    return show_report(state, report, journal_path, dry_run=False, check_command=check)


def _given_options(**values: Any) -> dict[str, Any]:
    """The enroll options typed on this command line (not defaults)."""
    ctx = click.get_current_context()
    typed = click.core.ParameterSource.COMMANDLINE
    return {name: v for name, v in values.items() if ctx.get_parameter_source(name) is typed}


#: The most digits a group id has (the vendor's ids are numbers; 20 holds any 64-bit one).
_GROUP_ID_DIGITS = 20
_SIZE_REFUSAL = "the request body would be"


async def _dry_run(
    state: State,
    source: Path,
    group: str | None,
    slot: int | None,
    shard: tuple[int, int] | None,
) -> EnrollReport:
    """Validate with a client that cannot send: its transport refuses every request."""
    import httpx

    from .. import AsyncSunmiFace
    from ..bulk import enroll

    def refuse(request: httpx.Request) -> httpx.Response:
        raise RuntimeError(f"--dry-run must not send anything (tried {request.url.path})")

    # A real run sends the group's id, which the server alone knows for a name: size each
    # body for the longest id then (never lighter than the real run), or for the id given.
    by_name = group is not None and not group.isdigit()
    checked = "9" * _GROUP_ID_DIGITS if by_name else group
    items = _counted(_entries(source, checked, slot))
    # The body size limit counts the app id and the store: use the real ones when known
    # (flags or environment; no key is needed, nothing is signed for a real server).
    env = state.env if state.env is not None else os.environ
    app_id = state.flags.app_id or env.get("SUNMI_APP_ID") or "dry-run"
    shop_id = state.flags.shop_id or (None if state.flags.shop_no else env.get("SUNMI_SHOP_ID"))
    shop_no = state.flags.shop_no or env.get("SUNMI_SHOP_NO") or (None if shop_id else "dry-run")
    async with AsyncSunmiFace(
        app_id,
        "dry-run",
        sunmi_shop_no=shop_no,
        shop_id=None if shop_no else shop_id,
        transport=httpx.MockTransport(refuse),
    ) as client:
        with progress_for(state, "check") as display:
            job = enroll(
                client,
                items,
                external_key_slot=slot,
                shard=shard,
                dry_run=True,
                on_progress=display.update,
            )
            report = await job.run()
    if by_name and any(_SIZE_REFUSAL in item.get("reason", "") for item in report.listed):
        state.output.warn(
            f"--group {group!r} is a name: each request body was sized for a group id of "
            f"{_GROUP_ID_DIGITS} digits, so a picture within a few bytes of the 1 MB limit may "
            "be refused here and taken by a real run; give the group's id for an exact check"
        )
    return report


async def _target_group(state: State, client: Any, group: str | None, create: bool) -> str | None:
    if group is None:
        if create:
            raise click.UsageError("--create-group needs --group NAME")
        return None
    try:
        found = await resolve_group(client, group)
    except CliError:
        if not create:
            raise
        created = await client.groups.create(group)
        state.output.info(f"created group {group} ({created.group_id})")
        return str(created.group_id)
    return found.group_id


def _journal_path(
    state: State,
    source: Path,
    group_id: str | None,
    journal: Path | None,
    no_journal: bool,
    resume: bool,
) -> Path | None:
    if no_journal:
        return None
    path = journal if journal is not None else default_journal(source, group_id)
    if path.exists() and not resume:
        recorded = open_recorded(path, group_id, state.flags)  # damaged or empty: refused
        again = (
            resume_command(recorded, path, state.flags)
            if recorded is not None
            else "the same command with --resume"
        )
        raise CliError(
            f"the journal {path} holds an earlier run: to continue it (done items are "
            f"skipped) run: {again}; or pass --journal NEW_PATH to start afresh"
        )
    if resume and not path.exists():
        raise CliError(f"--resume: no journal at {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
